//! The logs in the browser. The server renders the panel (choices, download link, the
//! place for lines); once the page holding it is placed, [`Stream::attach`] opens its
//! stream (`data-log-stream`) and appends the rows the server sends, already rendered and
//! escaped. Scrolled to the end, the view follows; scrolled up, it pauses and counts what
//! waits below until the reader goes back down or presses Resume. A reconnecting stream
//! goes on after the last line it had (the browser sends it as `Last-Event-ID`).

pub(super) mod browser {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Element, EventSource, MessageEvent};

    /// Rows kept on the page; older ones go (the download has everything).
    const KEPT: u32 = 5_000;

    /// An open stream and what it listens with; closed when dropped.
    pub struct Stream {
        source: EventSource,
        _listeners: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    }

    impl Drop for Stream {
        fn drop(&mut self) {
            self.source.close();
        }
    }

    fn by_id(id: &str) -> Option<Element> {
        web_sys::window()?.document()?.get_element_by_id(id)
    }

    struct View {
        lines: Element,
        status: Option<Element>,
        resume: Option<Element>,
        waiting: RefCell<String>,
        waiting_rows: Cell<u32>,
        paused: Cell<bool>,
    }

    impl View {
        fn at_end(&self) -> bool {
            let l = &self.lines;
            l.scroll_top() + l.client_height() >= l.scroll_height() - 8
        }

        fn say(&self, text: &str, state: &str) {
            if let Some(s) = &self.status {
                s.set_text_content(Some(text));
            }
            let _ = self.lines.set_attribute("data-state", state);
        }

        fn place(&self, html: &str) {
            let _ = self.lines.insert_adjacent_html("beforeend", html);
            while self.lines.child_element_count() > KEPT {
                match self.lines.first_element_child() {
                    Some(first) => first.remove(),
                    None => break,
                }
            }
            self.lines.set_scroll_top(self.lines.scroll_height());
        }

        fn show_waiting(&self) {
            let Some(button) = &self.resume else { return };
            let n = self.waiting_rows.get();
            if n == 0 {
                let _ = button.set_attribute("hidden", "");
            } else {
                let _ = button.remove_attribute("hidden");
                let lines = if n == 1 { "line" } else { "lines" };
                button.set_text_content(Some(&format!("Paused: {n} new {lines} below. Resume")));
            }
        }

        fn receive(&self, html: &str) {
            if self.paused.get() {
                self.waiting.borrow_mut().push_str(html);
                let rows =
                    u32::try_from(html.matches("<div class=\"log-").count()).unwrap_or(u32::MAX);
                self.waiting_rows.set(self.waiting_rows.get().saturating_add(rows));
                self.show_waiting();
            } else {
                self.place(html);
            }
        }

        fn resume(&self) {
            self.paused.set(false);
            let waiting = std::mem::take(&mut *self.waiting.borrow_mut());
            self.waiting_rows.set(0);
            self.show_waiting();
            self.place(&waiting);
            let _ = self.lines.set_attribute("data-paused", "false");
        }
    }

    impl Stream {
        /// Opens the stream the placed panel names, if it names one.
        pub fn attach() -> Option<Stream> {
            let lines = by_id("log-lines")?;
            let url = lines.get_attribute("data-log-stream")?;
            let view = Rc::new(View {
                lines,
                status: by_id("log-status"),
                resume: by_id("log-resume"),
                waiting: RefCell::new(String::new()),
                waiting_rows: Cell::new(0),
                paused: Cell::new(false),
            });
            let source = EventSource::new(&url).ok()?;
            let mut listeners: Vec<Closure<dyn FnMut(web_sys::Event)>> = Vec::new();
            let on =
                |target: &web_sys::EventTarget,
                 name: &str,
                 f: Closure<dyn FnMut(web_sys::Event)>,
                 listeners: &mut Vec<Closure<dyn FnMut(web_sys::Event)>>| {
                    let _ =
                        target.add_event_listener_with_callback(name, f.as_ref().unchecked_ref());
                    listeners.push(f);
                };
            let v = Rc::clone(&view);
            on(
                &source,
                "lines",
                Closure::new(move |e: web_sys::Event| {
                    if let Some(text) =
                        e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string())
                    {
                        v.receive(&text);
                    }
                }),
                &mut listeners,
            );
            // A pod's state, sent again by the stream whenever it changes.
            on(
                &source,
                "pod",
                Closure::new(move |e: web_sys::Event| {
                    let html = e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string());
                    if let (Some(html), Some(detail)) = (html, by_id("pod-detail")) {
                        detail.set_inner_html(&html);
                    }
                }),
                &mut listeners,
            );
            let v = Rc::clone(&view);
            let closer = source.clone();
            on(
                &source,
                "end",
                Closure::new(move |e: web_sys::Event| {
                    let text = e
                        .dyn_ref::<MessageEvent>()
                        .and_then(|m| m.data().as_string())
                        .unwrap_or_default();
                    v.resume();
                    v.place("<div class=\"log-note log-end\" role=\"note\"></div>");
                    if let Some(last) = v.lines.last_element_child() {
                        last.set_text_content(Some(&text));
                    }
                    v.say(&text, "ended");
                    // Ended on purpose: the browser must not open it again by itself.
                    closer.close();
                }),
                &mut listeners,
            );
            let v = Rc::clone(&view);
            on(
                &source,
                "open",
                Closure::new(move |_| v.say("Live: new lines appear as they are written.", "live")),
                &mut listeners,
            );
            let v = Rc::clone(&view);
            let watched = source.clone();
            on(
                &source,
                "error",
                Closure::new(move |_| {
                    if watched.ready_state() != EventSource::CLOSED {
                        v.say(
                            "Reconnecting… lines written meanwhile follow once it is back.",
                            "reconnecting",
                        );
                    } else if v.lines.get_attribute("data-state").as_deref() != Some("ended") {
                        v.say(
                            "The stream was refused or ended; reload the page to read on.",
                            "ended",
                        );
                    }
                }),
                &mut listeners,
            );
            let v = Rc::clone(&view);
            on(
                &view.lines,
                "scroll",
                Closure::new(move |_| {
                    let at_end = v.at_end();
                    if at_end && v.paused.get() {
                        v.resume();
                    } else if !at_end && !v.paused.get() {
                        v.paused.set(true);
                        let _ = v.lines.set_attribute("data-paused", "true");
                    }
                }),
                &mut listeners,
            );
            if let Some(button) = &view.resume {
                let v = Rc::clone(&view);
                on(button, "click", Closure::new(move |_| v.resume()), &mut listeners);
            }
            Some(Stream { source, _listeners: listeners })
        }
    }
}
