//! The main window fits the screen it opens on and remembers its size (docs/desktop.md): the size
//! the person left it at (`window.json` beside accounts.json), else 1100×720, never larger than
//! the monitor's work area (a 1024×640 screen gets a window that fits, not one cut off).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tauri::{LogicalSize, Runtime, WebviewWindow};

/// The window's size on a screen with room for it (logical pixels).
pub const DEFAULT: Size = Size { width: 1100.0, height: 720.0 };
/// The smallest size the layout holds at (the diagram folds under the page below 1000 wide).
pub const SMALLEST: Size = Size { width: 800.0, height: 560.0 };
/// Room left around the window for the panel and the window's frame.
const MARGIN: f64 = 0.95;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Size {
    pub width: f64,
    pub height: f64,
}

/// The size to open at: `wanted`, shrunk to fit `screen` (each side at most 95 % of it), and at
/// least the smallest layout where the screen has room for that.
pub fn fitted(wanted: Size, screen: Size) -> Size {
    let side = |wanted: f64, room: f64, smallest: f64| {
        let room = (room * MARGIN).floor();
        wanted.min(room).max(smallest.min(room))
    };
    Size {
        width: side(wanted.width, screen.width, SMALLEST.width),
        height: side(wanted.height, screen.height, SMALLEST.height),
    }
}

fn file(config_dir: &Path) -> PathBuf {
    config_dir.join("window.json")
}

/// The size saved when the window was last closed, if any (a broken file is ignored: it only
/// held a size).
pub fn remembered(config_dir: &Path) -> Option<Size> {
    let text = std::fs::read_to_string(file(config_dir)).ok()?;
    serde_json::from_str::<Size>(&text).ok().filter(|s| s.width.is_finite() && s.height.is_finite())
}

pub fn remember(config_dir: &Path, size: Size) -> std::io::Result<()> {
    std::fs::create_dir_all(config_dir)?;
    std::fs::write(file(config_dir), serde_json::to_string(&size).unwrap_or_default())
}

/// Sizes `window` for the monitor it is on, from the remembered size or the default.
pub fn fit<R: Runtime>(window: &WebviewWindow<R>, config_dir: Option<&Path>) {
    let Ok(Some(monitor)) = window.current_monitor().or_else(|_| window.primary_monitor()) else { return };
    let scale = monitor.scale_factor();
    let area = monitor.work_area().size.to_logical::<f64>(scale);
    let wanted = config_dir.and_then(remembered).unwrap_or(DEFAULT);
    let size = fitted(wanted, Size { width: area.width, height: area.height });
    let _ =
        window.set_min_size(Some(LogicalSize::new(SMALLEST.width.min(size.width), SMALLEST.height.min(size.height))));
    let _ = window.set_size(LogicalSize::new(size.width, size.height));
    let _ = window.center();
}

/// The window's size now, to remember at close.
pub fn current<R: Runtime>(window: &tauri::Window<R>) -> Option<Size> {
    let scale = window.scale_factor().ok()?;
    let size = window.inner_size().ok()?.to_logical::<f64>(scale);
    Some(Size { width: size.width, height: size.height })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_fits_the_screen_and_keeps_the_smallest_layout_where_it_can() {
        let big = Size { width: 1920.0, height: 1080.0 };
        assert_eq!(fitted(DEFAULT, big), DEFAULT, "room enough: the default");
        let small = fitted(DEFAULT, Size { width: 1024.0, height: 640.0 });
        assert!(small.width <= 1024.0 * MARGIN && small.height <= 640.0 * MARGIN, "fits 1024×640: {small:?}");
        assert_eq!(small, Size { width: 972.0, height: 608.0 });
        let tiny = fitted(DEFAULT, Size { width: 640.0, height: 480.0 });
        assert_eq!(tiny, Size { width: 608.0, height: 456.0 }, "smaller than the smallest layout: the screen wins");
        let remembered = Size { width: 500.0, height: 400.0 };
        assert_eq!(fitted(remembered, big), SMALLEST, "never below the smallest layout where there is room");
    }

    #[test]
    fn the_size_is_remembered_beside_the_accounts() {
        let dir = tempfile::tempdir().expect("temp");
        assert_eq!(remembered(dir.path()), None, "nothing yet");
        remember(dir.path(), Size { width: 900.0, height: 650.0 }).expect("saved");
        assert_eq!(remembered(dir.path()), Some(Size { width: 900.0, height: 650.0 }));
        std::fs::write(dir.path().join("window.json"), "{broken").expect("write");
        assert_eq!(remembered(dir.path()), None, "a broken file is ignored");
    }
}
