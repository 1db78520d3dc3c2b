//! WebSocket (RFC 6455), both ends, small: an echo server standing in for
//! `jmalloc/echo-server` (it greets, then echoes every text and binary message, answers pings
//! and closes when asked) and a client that upgrades through a proxy and exchanges messages.

use std::net::SocketAddr;

use base64::Engine;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{GUID}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// A running echo server; dropping it stops accepting.
pub struct Echo {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the echo server on `127.0.0.1:0`; its first message on every connection is
/// `greeting`.
pub async fn spawn_echo(greeting: &str) -> std::io::Result<Echo> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let greeting = greeting.to_string();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let greeting = greeting.clone();
            tokio::spawn(async move {
                let _ = serve(stream, &greeting).await;
            });
        }
    });
    Ok(Echo { addr, task })
}

async fn serve(mut s: TcpStream, greeting: &str) -> std::io::Result<()> {
    let head = read_head(&mut s).await?;
    let key = header(&head, "sec-websocket-key");
    let upgrade = header(&head, "upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let Some(key) = key.filter(|_| upgrade) else {
        s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 22\r\nconnection: close\r\n\r\nnot a WebSocket upgrade")
            .await?;
        return Ok(());
    };
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-accept: {}\r\n\r\n",
        accept_key(&key)
    );
    s.write_all(reply.as_bytes()).await?;
    s.write_all(&frame(TEXT, greeting.as_bytes(), None)).await?;
    loop {
        let (op, payload) = read_frame(&mut s).await?;
        match op {
            TEXT | BINARY => s.write_all(&frame(op, &payload, None)).await?,
            PING => s.write_all(&frame(PONG, &payload, None)).await?,
            CLOSE => {
                s.write_all(&frame(CLOSE, &payload, None)).await?;
                return Ok(());
            }
            _ => {}
        }
    }
}

/// The request or response head, up to the blank line.
async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.push(byte[0]);
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("head too long"));
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// One unfragmented frame; a client masks (`mask`), a server does not.
pub fn frame(op: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![0x80 | op];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xFFFF => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// Reads one frame: `(opcode, unmasked payload)`.
pub async fn read_frame<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).await?;
    let op = h[0] & 0x0F;
    let masked = h[1] & 0x80 != 0;
    let len = match h[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).await?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).await?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    if len > 16 << 20 {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut key = [0u8; 4];
    if masked {
        s.read_exact(&mut key).await?;
    }
    let mut payload = vec![0u8; len as usize];
    s.read_exact(&mut payload).await?;
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }
    Ok((op, payload))
}

/// A client connection after a successful upgrade.
pub struct Client {
    stream: TcpStream,
}

/// Why an upgrade failed: the status line and head the server answered with.
#[derive(Debug)]
pub struct Refused(pub String);

impl Client {
    /// Opens `ws://127.0.0.1:{port}{path}` with `Host: host`; the server must answer 101
    /// with the right `Sec-WebSocket-Accept`.
    pub async fn connect(port: u16, host: &str, path: &str) -> Result<Client, Refused> {
        Client::connect_to(SocketAddr::from(([127, 0, 0, 1], port)), host, path).await
    }

    /// As [`Client::connect`], to `addr`.
    pub async fn connect_to(addr: SocketAddr, host: &str, path: &str) -> Result<Client, Refused> {
        let err = |e: std::io::Error| Refused(e.to_string());
        let mut stream = TcpStream::connect(addr).await.map_err(err)?;
        let key = base64::engine::general_purpose::STANDARD.encode(rand_bytes());
        let req = format!(
            "GET {path} HTTP/1.1\r\nhost: {host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
             sec-websocket-key: {key}\r\nsec-websocket-version: 13\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await.map_err(err)?;
        let head = read_head(&mut stream).await.map_err(err)?;
        let status_ok = head.starts_with("HTTP/1.1 101");
        let accept_ok = header(&head, "sec-websocket-accept").as_deref() == Some(&accept_key(&key));
        if !(status_ok && accept_ok) {
            return Err(Refused(head.lines().next().unwrap_or_default().to_string()));
        }
        Ok(Client { stream })
    }

    pub async fn send_text(&mut self, text: &str) -> std::io::Result<()> {
        let f = frame(
            TEXT,
            text.as_bytes(),
            Some(rand_bytes()[..4].try_into().unwrap()),
        );
        self.stream.write_all(&f).await
    }

    /// The next text message (control frames are skipped).
    pub async fn recv_text(&mut self) -> std::io::Result<String> {
        loop {
            let (op, payload) = read_frame(&mut self.stream).await?;
            match op {
                TEXT => return Ok(String::from_utf8_lossy(&payload).into_owned()),
                CLOSE => return Err(std::io::ErrorKind::ConnectionAborted.into()),
                _ => {}
            }
        }
    }
}

fn rand_bytes() -> [u8; 16] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("system randomness");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_example_key() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[tokio::test]
    async fn echoes_messages_after_the_greeting() {
        let echo = spawn_echo("hello").await.unwrap();
        let mut c = Client::connect(echo.addr.port(), "x", "/").await.unwrap();
        assert_eq!(c.recv_text().await.unwrap(), "hello");
        let long = "y".repeat(70_000);
        for m in ["ping-1", long.as_str()] {
            c.send_text(m).await.unwrap();
            assert_eq!(c.recv_text().await.unwrap(), m);
        }
    }
}
