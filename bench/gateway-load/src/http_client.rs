//! A minimal HTTP/1.1 client over one keep-alive TCP connection: writes pre-serialized
//! requests and reads the response (status, headers parsed by `httparse`, body by
//! `Content-Length` or chunked). No per-request allocation beyond buffer growth, so the
//! generator stays cheap beside the server it measures.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("malformed response: {0}")]
    Malformed(String),
}

const MAX_HEADERS: usize = 32;

/// One connection; reconnects on the next request after an error or `Connection: close`.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    body: Vec<u8>,
}

struct Head {
    status: u16,
    length: Option<usize>,
    chunked: bool,
    close: bool,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            stream: None,
            buf: vec![0; 16 * 1024],
            start: 0,
            end: 0,
            body: Vec::new(),
        }
    }

    /// Opens the connection now (otherwise the first request does).
    pub async fn connect(&mut self) -> Result<(), HttpError> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
            self.start = 0;
            self.end = 0;
        }
        Ok(())
    }

    /// Sends one complete request and reads its whole response; returns the status.
    pub async fn roundtrip(&mut self, request: &[u8]) -> Result<u16, HttpError> {
        self.connect().await?;
        match self.exchange(request).await {
            Ok((status, close)) => {
                if close {
                    self.stream = None;
                }
                Ok(status)
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    /// The body of the last response.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    async fn exchange(&mut self, request: &[u8]) -> Result<(u16, bool), HttpError> {
        let stream = self.stream.as_mut().ok_or(HttpError::Closed)?;
        stream.write_all(request).await?;
        let head = loop {
            if let Some(head) = self.parse_head()? {
                break head;
            }
            self.fill().await?;
        };
        self.body.clear();
        if head.chunked {
            self.read_chunked().await?;
        } else if let Some(length) = head.length {
            while self.end - self.start < length {
                self.fill().await?;
            }
            self.body
                .extend_from_slice(&self.buf[self.start..self.start + length]);
            self.start += length;
        } else if head.status >= 200 && head.status != 204 && head.status != 304 {
            return Err(HttpError::Malformed(
                "neither Content-Length nor chunked".into(),
            ));
        }
        Ok((head.status, head.close))
    }

    fn parse_head(&mut self) -> Result<Option<Head>, HttpError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response
            .parse(&self.buf[self.start..self.end])
            .map_err(|e| HttpError::Malformed(e.to_string()))?;
        let httparse::Status::Complete(len) = parsed else {
            return Ok(None);
        };
        let status = response
            .code
            .ok_or_else(|| HttpError::Malformed("no status".into()))?;
        let mut head = Head {
            status,
            length: None,
            chunked: false,
            close: false,
        };
        for header in response.headers.iter() {
            let value = std::str::from_utf8(header.value).unwrap_or("").trim();
            if header.name.eq_ignore_ascii_case("content-length") {
                head.length = Some(
                    value
                        .parse()
                        .map_err(|_| HttpError::Malformed("Content-Length".into()))?,
                );
            } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                head.chunked = value.to_ascii_lowercase().contains("chunked");
            } else if header.name.eq_ignore_ascii_case("connection") {
                head.close = value.eq_ignore_ascii_case("close");
            }
        }
        self.start += len;
        Ok(Some(head))
    }

    async fn read_chunked(&mut self) -> Result<(), HttpError> {
        loop {
            let line_end = loop {
                if let Some(i) = find_crlf(&self.buf[self.start..self.end]) {
                    break self.start + i;
                }
                self.fill().await?;
            };
            let line = std::str::from_utf8(&self.buf[self.start..line_end]).unwrap_or("");
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| HttpError::Malformed(format!("chunk size {size_text:?}")))?;
            self.start = line_end + 2;
            if size == 0 {
                // Trailers (none expected), then the empty line.
                loop {
                    let i = loop {
                        if let Some(i) = find_crlf(&self.buf[self.start..self.end]) {
                            break i;
                        }
                        self.fill().await?;
                    };
                    self.start += i + 2;
                    if i == 0 {
                        return Ok(());
                    }
                }
            }
            while self.end - self.start < size + 2 {
                self.fill().await?;
            }
            self.body
                .extend_from_slice(&self.buf[self.start..self.start + size]);
            self.start += size + 2;
        }
    }

    /// Reads more bytes into the buffer, compacting or growing it first if it is full.
    async fn fill(&mut self) -> Result<(), HttpError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let stream = self.stream.as_mut().ok_or(HttpError::Closed)?;
        let n = stream.read(&mut self.buf[self.end..]).await?;
        if n == 0 {
            return Err(HttpError::Closed);
        }
        self.end += n;
        Ok(())
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

/// One `GET` on a fresh connection: status and body.
pub async fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), HttpError> {
    let mut conn = Conn::new(addr);
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let status = conn.roundtrip(request.as_bytes()).await?;
    Ok((status, String::from_utf8_lossy(conn.body()).into_owned()))
}
