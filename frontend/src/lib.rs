//! The browser entry point. Everything interesting lives in `gantry-app`; this crate
//! exists so the wasm build is a small cdylib that only knows how to hydrate.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(gantry_app::App);
}
