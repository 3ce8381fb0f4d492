// The bed (Patroni, etcd, PostgreSQL from Debian packages) exists only on Linux.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
