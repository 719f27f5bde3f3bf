//! The server functions' answer encoding: JSON, read in the browser with
//! `serde_json::from_str` — the same reader hydration and the live stream use — instead of
//! `from_slice`. Each reader is a separate compiled copy of every type's deserializer in
//! the WebAssembly; one reader keeps one copy (measured: the page's wasm shrinks by the
//! size of a whole set of deserializers).

use leptos::server_fn::codec::Post;
use leptos::server_fn::Bytes;
use leptos::server_fn::{ContentType, Format, FormatType};
use leptos::server_fn::{Decodes, Encodes};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub struct JsonText;

/// Use as `#[server(output = JsonAnswer)]`.
pub type JsonAnswer = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}
