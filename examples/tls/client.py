#!/usr/bin/env python3
"""Resolves a name through NSS and loads the CA certificates TLS verifies
against: what a trace of one offline run may not touch, and --with
nss,certs brings."""
import socket
import ssl
import sys

host = sys.argv[1] if len(sys.argv) > 1 else "localhost"
# port 443, not "https": minimal Debian images lack netbase (/etc/services)
addr = socket.getaddrinfo(host, 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
ctx = ssl.create_default_context()
n = ctx.cert_store_stats()["x509_ca"]
print(f"{host} -> {addr}; CA certificates: {'many' if n > 100 else n}; verify: {ctx.verify_mode == ssl.CERT_REQUIRED}")
