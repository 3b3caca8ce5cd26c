//! TLS: certificates generated per test with `rcgen`, and [`TlsServer`].
//!
//! Each TLS server gets its own throw-away CA, so tests never depend on files in the
//! repository that expire, and a "wrong CA" is just another fresh CA.

use std::io;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::options::ServerOptions;
use crate::server::RedisServer;

/// PEM files for one TLS server: its CA, the server certificate (valid for `127.0.0.1`
/// and `localhost`), and a client certificate signed by the same CA.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The CA certificate clients must trust.
    pub ca_cert: PathBuf,
    /// The server certificate (SANs `localhost`, `127.0.0.1`).
    pub server_cert: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
    /// A client certificate for mutual TLS.
    pub client_cert: PathBuf,
    /// The client certificate's private key.
    pub client_key: PathBuf,
}

fn tls_err(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("certificate generation failed: {e}"))
}

fn ca_params(name: &str) -> io::Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(p)
}

fn write(path: &Path, pem: &str) -> io::Result<()> {
    std::fs::write(path, pem)
        .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
}

impl TlsFiles {
    /// Generates a CA, a server and a client certificate into `dir`.
    pub fn generate(dir: &Path) -> io::Result<TlsFiles> {
        let ca_key = KeyPair::generate().map_err(tls_err)?;
        let ca = ca_params("testkit CA")?;
        let ca_cert = ca.self_signed(&ca_key).map_err(tls_err)?;
        let issuer = Issuer::new(ca, ca_key);

        let leaf = |cn: &str, sans: Vec<String>, usage: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().map_err(tls_err)?;
            let mut p = CertificateParams::new(sans).map_err(tls_err)?;
            p.distinguished_name.push(DnType::CommonName, cn);
            p.extended_key_usages = vec![usage];
            let cert = p.signed_by(&key, &issuer).map_err(tls_err)?;
            Ok::<_, io::Error>((cert.pem(), key.serialize_pem()))
        };
        let (server_pem, server_key_pem) = leaf(
            "localhost",
            vec!["localhost".into(), "127.0.0.1".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let (client_pem, client_key_pem) = leaf(
            "testkit client",
            vec![],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;

        let files = TlsFiles {
            ca_cert: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
        };
        write(&files.ca_cert, &ca_cert.pem())?;
        write(&files.server_cert, &server_pem)?;
        write(&files.server_key, &server_key_pem)?;
        write(&files.client_cert, &client_pem)?;
        write(&files.client_key, &client_key_pem)?;
        Ok(files)
    }
}

/// Writes a fresh CA certificate, unrelated to any server, to `path`: trusting it must
/// make a TLS handshake fail, which is what negative tests assert.
pub fn write_unrelated_ca(path: &Path) -> io::Result<()> {
    let key = KeyPair::generate().map_err(tls_err)?;
    let cert = ca_params("unrelated CA")?
        .self_signed(&key)
        .map_err(tls_err)?;
    write(path, &cert.pem())
}

/// A TLS-only `redis-server` (`tls-port`, `port 0`) with its certificates.
///
/// It is a [`RedisServer`] (through `Deref`) whose [`RedisServer::url`] is
/// `rediss://127.0.0.1:PORT`; this type adds the certificate paths without `Option`s.
pub struct TlsServer {
    server: RedisServer,
}

impl TlsServer {
    /// Starts a TLS server with default options.
    pub fn start() -> io::Result<TlsServer> {
        Self::start_with(ServerOptions::new())
    }

    /// Starts a TLS server with `opts` (TLS is forced on; unix sockets are refused).
    pub fn start_with(opts: ServerOptions) -> io::Result<TlsServer> {
        Ok(TlsServer {
            server: RedisServer::start_with(opts.tls(true))?,
        })
    }

    fn files(&self) -> &TlsFiles {
        match self.server.tls_files() {
            Some(f) => f,
            // Unreachable: start_with forces `tls(true)`, which always generates files.
            None => unreachable!("TlsServer without TLS files"),
        }
    }

    /// The CA certificate (PEM) that signed the server and client certificates.
    pub fn ca_cert_path(&self) -> &Path {
        &self.files().ca_cert
    }

    /// The client certificate (PEM), for mutual-TLS tests.
    pub fn client_cert_path(&self) -> &Path {
        &self.files().client_cert
    }

    /// The client private key (PEM, PKCS#8).
    pub fn client_key_path(&self) -> &Path {
        &self.files().client_key
    }

    /// Generates (once per call) an unrelated CA into the server's temp dir and returns
    /// its path, for "untrusted server" tests.
    pub fn wrong_ca_cert_path(&self) -> io::Result<PathBuf> {
        let path = self.data_dir().join("wrong-ca.crt");
        write_unrelated_ca(&path)?;
        Ok(path)
    }

    /// The underlying server handle.
    pub fn server(&self) -> &RedisServer {
        &self.server
    }
}

impl Deref for TlsServer {
    type Target = RedisServer;
    fn deref(&self) -> &RedisServer {
        &self.server
    }
}
