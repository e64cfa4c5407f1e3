//! A small screen (1024×640, a private Xvfb): the window opens fitting it, "Stop demo", the
//! Accounts tab and "Copy as text" are inside it, and the sequence diagram folds under the page.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::harness::*;

/// An X server of its own with a 1024×640 screen; stopped when dropped.
struct SmallScreen {
    xvfb: Child,
    display: String,
}

impl SmallScreen {
    /// On the first free display from :70 up (no lock file, no socket), ready once its socket is.
    fn start() -> Result<SmallScreen, Box<dyn std::error::Error + Send + Sync>> {
        let free = (70..100).find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists() && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        });
        let number = free.ok_or("no free X display number between :70 and :99")?;
        let display = format!(":{number}");
        let xvfb = Command::new("Xvfb")
            .args([display.as_str(), "-screen", "0", "1024x640x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("Xvfb (installed by ./dev.sh) did not start: {e}"))?;
        let screen = SmallScreen { xvfb, display };
        let socket = format!("/tmp/.X11-unix/X{number}");
        let deadline = Instant::now() + WAIT;
        while !Path::new(&socket).exists() {
            if Instant::now() > deadline {
                return Err(format!("Xvfb {} did not open {socket}", screen.display).into());
            }
            std::thread::sleep(POLL);
        }
        Ok(screen)
    }
}

impl Drop for SmallScreen {
    fn drop(&mut self) {
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_1024_by_640_screen_the_window_fits_and_the_diagram_folds_under_the_page() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let screen = SmallScreen::start().expect("a private 1024×640 X server");
    let app = App::launch_with_envs(&["--demo"], &[("DISPLAY", screen.display.clone())])
        .await
        .expect("the app starts under tauri-driver");
    let outcome = small_screen(&app).await;
    app.finish("small-screen", outcome).await;
    drop(screen);
}

async fn small_screen(app: &App) -> TestResult {
    app.wait_for("#demo-owncloud").await?;
    let size = app.driver.execute("return [window.innerWidth, window.innerHeight];", Vec::new()).await?;
    let size: Vec<f64> = serde_json::from_value(size.json().clone())?;
    assert!(size[0] <= 1024.0 && size[1] <= 640.0, "the window fits the screen: {size:?}");
    for id in ["stop-demo", "nav-accounts", "copy-trace"] {
        let rect = app.driver.execute(
            "const r = document.getElementById(arguments[0]).getBoundingClientRect(); return [r.left, r.right, r.top];",
            vec![serde_json::json!(id)],
        );
        let rect: Vec<f64> = serde_json::from_value(rect.await?.json().clone())?;
        assert!(rect[0] >= 0.0 && rect[1] <= size[0], "#{id} is inside the window horizontally: {rect:?} in {size:?}");
    }
    let folded = app
        .driver
        .execute(
            "const m = document.querySelector('main').getBoundingClientRect(); \
             const t = document.getElementById('trace').getBoundingClientRect(); return t.top >= m.bottom - 1;",
            Vec::new(),
        )
        .await?;
    assert_eq!(folded.json().as_bool(), Some(true), "the diagram is under the page, not beside it");
    app.snapshot("small-screen-0-address").await?;
    Ok(())
}
