//! Calls to hutch's HTTP API from pages, the same code on both sides: in the browser through
//! `fetch` (with the CSRF token of the `hutch_csrf` cookie on writes), during server rendering
//! through [`ApiSource`], which the server provides with the signed-in caller's rights, so a
//! page is complete before any script runs.

use serde_json::Value;

/// How the server answers API calls made while it renders a page.
#[cfg(feature = "ssr")]
#[derive(Clone)]
#[allow(clippy::type_complexity)]
pub struct ApiSource(
    pub  std::sync::Arc<
        dyn Fn(
                &'static str,
                String,
                Option<Value>,
            )
                -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, String>> + Send>>
            + Send
            + Sync,
    >,
);

/// One call; `Err` is the server's `msg` (or why there was no answer).
pub async fn call(
    method: &'static str,
    path: String,
    body: Option<Value>,
) -> Result<Value, String> {
    #[cfg(feature = "ssr")]
    {
        let source = leptos::prelude::use_context::<ApiSource>()
            .ok_or_else(|| "the server did not provide its API to the page".to_string())?;
        (source.0)(method, path, body).await
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        send_wrapper::SendWrapper::new(browser::fetch(method, &path, body)).await
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        let _ = (method, path, body);
        Err("no API in this build".into())
    }
}

pub async fn get(path: impl Into<String>) -> Result<Value, String> {
    call("GET", path.into(), None).await
}

/// A change: `Err` also when the reply says `success: false` (bluesky's way to refuse).
pub async fn act(
    method: &'static str,
    path: impl Into<String>,
    body: Value,
) -> Result<Value, String> {
    let v = call(method, path.into(), Some(body)).await?;
    if v["success"] == false {
        return Err(v["msg"].as_str().unwrap_or("refused").to_string());
    }
    Ok(v)
}

pub async fn post(path: impl Into<String>, body: Value) -> Result<Value, String> {
    act("POST", path, body).await
}

/// Encodes a query-string value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(feature = "hydrate")]
mod browser {
    use serde_json::Value;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    fn csrf() -> Option<String> {
        let doc = web_sys::window()?
            .document()?
            .dyn_into::<web_sys::HtmlDocument>()
            .ok()?;
        doc.cookie()
            .ok()?
            .split("; ")
            .find_map(|c| c.strip_prefix("hutch_csrf=").map(String::from))
    }

    pub(super) async fn fetch(
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        let headers = web_sys::Headers::new().map_err(|_| "cannot make headers")?;
        if let Some(b) = &body {
            let _ = headers.set("content-type", "application/json");
            init.set_body(&wasm_bindgen::JsValue::from_str(&b.to_string()));
        }
        if method != "GET" {
            if let Some(t) = csrf() {
                let _ = headers.set("x-csrf", &t);
            }
        }
        init.set_headers(&headers);
        let window = web_sys::window().ok_or("no window")?;
        let resp = JsFuture::from(window.fetch_with_str_and_init(path, &init))
            .await
            .map_err(|_| "hutch did not answer (is it running? is the network up?)".to_string())?;
        let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
        let text = JsFuture::from(resp.text().map_err(|_| "unreadable reply")?)
            .await
            .map_err(|_| "unreadable reply")?
            .as_string()
            .unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
        if resp.ok() {
            Ok(value)
        } else {
            Err(value["msg"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("HTTP {}: {text}", resp.status())))
        }
    }
}
