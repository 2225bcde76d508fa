"""Create the PostgreSQL database named in DATABASE_URL if it does not exist."""

import os
import sys
from urllib.parse import urlparse

import psycopg
from psycopg import sql

url = urlparse(os.environ["DATABASE_URL"])
if not url.scheme.startswith("postgres"):
    sys.exit(0)
name = url.path.lstrip("/")
maintenance = url._replace(path="/postgres").geturl()
with psycopg.connect(maintenance, autocommit=True) as connection:
    if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"Created database {name}")
