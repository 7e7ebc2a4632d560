//! Request bodies by media type: urlencoded forms, JSON (keys and values at any depth),
//! `multipart/form-data` (field names, values, file names and text parts, through
//! `multer`), XML (element text, attribute values and the document type, through
//! `quick-xml`), and text. Other types (binary uploads) are not inspected.

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
};

use super::{Builder, Location, json};
use crate::inspect::parse::Message;

/// Most parts read from one multipart body: a form has a handful, and the body itself is
/// capped by `[http] body_limit`.
const MAX_PARTS: usize = 64;

/// Most XML events read from one body.
const MAX_XML_EVENTS: usize = 4096;

impl Builder {
    pub(super) fn body(&mut self, request: &Message) {
        if request.body.is_empty() {
            return;
        }
        let content_type = request
            .header("content-type")
            .map(|v| super::text(v).to_ascii_lowercase())
            .unwrap_or_default();
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media == "application/x-www-form-urlencoded" {
            self.pairs(&request.body, Location::PostNames, Location::PostValues);
        } else if media == "application/json" || media.ends_with("+json") {
            let (slots, text) = (self.slots.len(), self.text.len());
            if json::walk(&request.body, self).is_err() {
                // Truncated or invalid JSON: inspect it as text rather than not at all,
                // in place of the fields read before the error.
                self.slots.truncate(slots);
                self.text.truncate(text);
                self.text_body(&request.body);
            }
        } else if media == "multipart/form-data" {
            let boundary = request
                .header("content-type")
                .and_then(|v| multer::parse_boundary(super::text(v).as_ref()).ok());
            // No boundary, or a body multer cannot read (cut at the body limit, say): its
            // text still carries what the parts did.
            if boundary
                .and_then(|b| self.multipart(&request.body, b))
                .is_none()
            {
                self.text_body(&request.body);
            }
        } else if media.ends_with("/xml") || media.ends_with("+xml") {
            if self.xml(&request.body).is_none() {
                self.text_body(&request.body);
            }
        } else if media.starts_with("text/") || media.is_empty() {
            self.text_body(&request.body);
        }
    }

    fn text_body(&mut self, body: &[u8]) {
        self.push_decoded(Location::PostValues, "", body, false);
    }

    /// The parts of a `multipart/form-data` body (RFC 7578): each name, file name and text
    /// value. Binary parts (a declared non-text type, or a NUL byte) are skipped. `None`
    /// when the body is not readable as multipart at all.
    fn multipart(&mut self, body: &[u8], boundary: String) -> Option<()> {
        let data = bytes::Bytes::copy_from_slice(body);
        let stream = futures_once(data);
        let mut form = multer::Multipart::new(stream, boundary);
        let mut parts = 0;
        while parts < MAX_PARTS {
            let Some(Ok(Some(field))) = ready(form.next_field()) else {
                break;
            };
            parts += 1;
            let name = field.name().unwrap_or("").to_string();
            self.push(Location::PostNames, "", &name);
            if let Some(file) = field.file_name() {
                self.push(Location::PostValues, &name, file);
            }
            let text_type = field.content_type().is_none_or(|m| {
                m.type_() == "text"
                    || m.subtype().as_str().ends_with("json")
                    || m.subtype().as_str().ends_with("xml")
            });
            let Some(Ok(value)) = ready(field.bytes()) else {
                break;
            };
            if text_type && !value.contains(&0) {
                self.push_decoded(Location::PostValues, &name, &value, false);
            }
        }
        (parts > 0).then_some(())
    }

    /// The text of an XML body: element text and CDATA under the element's name, attribute
    /// values under theirs, and the document type declaration whole (where XXE lives).
    /// `None` when the body is not well-formed enough to read one element.
    fn xml(&mut self, body: &[u8]) -> Option<()> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_reader(body);
        let mut element = String::new();
        let mut elements = 0;
        // Text runs come in pieces, split at entity references: joined before they are
        // pushed, so `1' OR 1=1 &amp; more` is one value.
        let mut text = Vec::new();
        for _ in 0..MAX_XML_EVENTS {
            let event = reader.read_event();
            if !matches!(event, Ok(Event::Text(_) | Event::GeneralRef(_))) {
                self.flush_xml_text(&element, &mut text);
            }
            match event {
                Ok(Event::Start(e) | Event::Empty(e)) => {
                    elements += 1;
                    element = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    for attr in e.attributes().flatten() {
                        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                        self.push_decoded(Location::PostValues, &key, &attr.value, false);
                    }
                }
                Ok(Event::Text(t)) => text.extend_from_slice(t.as_ref()),
                Ok(Event::GeneralRef(r)) => {
                    text.push(b'&');
                    text.extend_from_slice(r.as_ref());
                    text.push(b';');
                }
                Ok(Event::CData(t)) => {
                    let raw: &[u8] = t.as_ref();
                    self.push_decoded(Location::PostValues, &element, raw, false);
                }
                Ok(Event::DocType(t)) => {
                    let raw: &[u8] = t.as_ref();
                    let decl = [&b"<!DOCTYPE "[..], raw, b">"].concat();
                    self.push_decoded(Location::PostValues, "", &decl, false);
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(_) => return (elements > 0).then_some(()),
            }
        }
        (elements > 0).then_some(())
    }
}

impl Builder {
    fn flush_xml_text(&mut self, element: &str, text: &mut Vec<u8>) {
        if !text.trim_ascii().is_empty() {
            self.push_decoded(Location::PostValues, element, text, false);
        }
        text.clear();
    }
}

/// A stream of one chunk, for multer, which reads bodies as streams.
fn futures_once(
    data: bytes::Bytes,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::convert::Infallible>> {
    futures_util::stream::once(std::future::ready(Ok(data)))
}

/// The output of a future that never waits: multer's futures over an in-memory stream are
/// ready at their first poll. One that is not is treated as an unreadable body.
fn ready<T>(f: impl Future<Output = T>) -> Option<T> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}
