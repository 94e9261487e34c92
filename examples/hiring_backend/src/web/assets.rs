//! Static files under `/static/`: the pages' CSS and JavaScript from `web/public`, and the
//! pinned `livekit-client` browser build from `web/node_modules` as
//! `/static/vendor/livekit-client.esm.mjs`. Only plain relative paths of known file types are
//! served; anything else is a 404.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Web;

const VENDOR: &[(&str, &str)] = &[(
    "vendor/livekit-client.esm.mjs",
    "node_modules/livekit-client/dist/livekit-client.esm.mjs",
)];

pub(crate) struct Files {
    root: PathBuf,
}

impl Files {
    pub(crate) fn new(root: PathBuf) -> Files {
        Files { root }
    }

    /// The file behind a URL path under `/static/`, if it is one we serve.
    fn resolve(&self, path: &str) -> Option<PathBuf> {
        if let Some((_, file)) = VENDOR.iter().find(|(url, _)| *url == path) {
            return Some(self.root.join(file));
        }
        let safe = !path.is_empty()
            && path.split('/').all(|seg| {
                !seg.is_empty()
                    && !seg.starts_with('.')
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
        (safe && content_type(path).is_some()).then(|| self.root.join("public").join(path))
    }

    /// A page (an HTML file under `public/`).
    pub(crate) async fn page(&self, name: &str) -> Response {
        file_response(&self.root.join("public").join(name), "no-store").await
    }
}

fn content_type(path: &str) -> Option<&'static str> {
    let ext = Path::new(path).extension()?.to_str()?;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        _ => return None,
    })
}

async fn file_response(path: &Path, cache: &'static str) -> Response {
    let Some(ctype) = path.to_str().and_then(content_type) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(path).await {
        Ok(body) => {
            let mut res = body.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            res
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(file = %path.display(), "cannot read a web file: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub(crate) async fn serve(State(web): State<Arc<Web>>, UrlPath(path): UrlPath<String>) -> Response {
    let Some(file) = web.files.resolve(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if path.starts_with("vendor/") && !file.is_file() {
        tracing::error!(
            file = %file.display(),
            "browser dependency missing: run `npm ci` in examples/hiring_backend/web (scripts/setup.sh does)"
        );
    }
    // Revalidated on every use: pages and their scripts change together.
    file_response(&file, "no-cache").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_of_known_types_resolve() {
        let f = Files::new(PathBuf::from("/w"));
        assert_eq!(
            f.resolve("js/candidate/main.js"),
            Some(PathBuf::from("/w/public/js/candidate/main.js"))
        );
        assert_eq!(
            f.resolve("vendor/livekit-client.esm.mjs"),
            Some(PathBuf::from(
                "/w/node_modules/livekit-client/dist/livekit-client.esm.mjs"
            ))
        );
        for bad in [
            "../secret.js",
            "js/../../x.js",
            ".env",
            "js//a.js",
            "a.exe",
            "",
            "js/a b.js",
        ] {
            assert_eq!(f.resolve(bad), None, "{bad}");
        }
    }
}
