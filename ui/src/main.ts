// First: every message reads the window's language from here (lib/i18n.svelte.ts).
import "./lib/i18n.svelte";
import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("index.html lacks #app");
export default mount(App, { target });
