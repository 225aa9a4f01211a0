//! A real HTTP server on 127.0.0.1 for tests of the URL predicates.
//!
//! ```ignore
//! let server = TestServer::start([
//!     ("/ok", Reply::ok("hello")),
//!     ("/old", Reply::redirect("/ok")),
//!     ("/slow", Reply::ok("late").delay(Duration::from_secs(3))),
//! ]);
//! let url = server.url("/ok");
//! ```
//!
//! Paths without a route answer 404. Every request is answered on its own thread, because
//! tiny_http hands out one request at a time and a slow route must not hold up the others. The
//! server stops when the `TestServer` is dropped. Clients must bypass any proxy of the
//! environment: set `NO_PROXY=127.0.0.1,localhost` (the `Project` builder does).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server answers on one path.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Answer HEAD with 405 Method Not Allowed (GET still works), like some file servers.
    pub refuse_head: bool,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            body: Vec::new(),
            headers: Vec::new(),
            delay: Duration::ZERO,
            refuse_head: false,
        }
    }

    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::status(200).body(body)
    }

    /// A 302 to `location` (a path on this server or a full URL).
    pub fn redirect(location: &str) -> Reply {
        Reply::status(302).header("Location", location)
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    pub fn refuse_head(mut self) -> Reply {
        self.refuse_head = true;
        self
    }
}

pub struct TestServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
    server: Arc<tiny_http::Server>,
    requests: Arc<Mutex<Vec<String>>>,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start<'a>(routes: impl IntoIterator<Item = (&'a str, Reply)>) -> TestServer {
        let routes: Arc<HashMap<String, Reply>> = Arc::new(
            routes
                .into_iter()
                .map(|(path, reply)| (path.to_string(), reply))
                .collect(),
        );
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("test HTTP server"));
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let server = server.clone();
            let requests = requests.clone();
            std::thread::spawn(move || {
                // `incoming_requests` ends when `unblock` is called on drop.
                for request in server.incoming_requests() {
                    requests.lock().unwrap().push(format!(
                        "{} {}",
                        request.method(),
                        request.url()
                    ));
                    let routes = routes.clone();
                    std::thread::spawn(move || answer(request, &routes));
                }
            })
        };
        TestServer {
            base: format!("http://127.0.0.1:{port}"),
            server,
            requests,
            accept: Some(accept),
        }
    }

    /// The full URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every request received so far, in order, as "METHOD /path".
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn answer(request: tiny_http::Request, routes: &HashMap<String, Reply>) {
    let reply = routes
        .get(request.url())
        .cloned()
        .unwrap_or_else(|| Reply::status(404).body("not found"));
    std::thread::sleep(reply.delay);
    let head = *request.method() == tiny_http::Method::Head;
    let response = if head && reply.refuse_head {
        tiny_http::Response::from_data(Vec::new()).with_status_code(405)
    } else {
        let mut response =
            tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
        for (name, value) in &reply.headers {
            response.add_header(
                tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                    .expect("a valid header"),
            );
        }
        response
    };
    // The client may have given up already (that is what timeout tests do): nothing to report.
    let _ = request.respond(response);
}
