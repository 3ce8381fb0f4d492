using System.Net.Sockets;

namespace PgRouter.Configuration;

/// <summary>The "PgRouter" section of appsettings.json (environment variables and the command line may override any key).</summary>
internal sealed class PgRouterOptions
{
    public const string Section = "PgRouter";

    public List<ListenerOptions> Listeners { get; set; } = [];

    /// <summary>Client database name (or "*") to where it leads.</summary>
    public Dictionary<string, DatabaseOptions> Databases { get; set; } = [];

    public Dictionary<string, ClusterOptions> Clusters { get; set; } = [];

    public EtcdOptions Etcd { get; set; } = new();

    public MonitorOptions Monitor { get; set; } = new();

    public ConnectionOptions Connections { get; set; } = new();

    public PoolingOptions Pooling { get; set; } = new();

    public AuthOptions Auth { get; set; } = new();

    public TlsOptions Tls { get; set; } = new();

    public ServerTlsOptions ServerTls { get; set; } = new();

    public AdminOptions Admin { get; set; } = new();

    public PeeringOptions Peering { get; set; } = new();
}

/// <summary>
/// Several PgRouter instances behind one load balancer: each puts its id into the cancel keys it
/// hands out, and a CancelRequest that lands on another instance is passed on to the one that holds the client.
/// </summary>
internal sealed class PeeringOptions
{
    /// <summary>This instance's id, 1 to 255; 0 turns peering off.</summary>
    public int Id { get; set; }

    /// <summary>The other instances: id to "host:port" of a listener of theirs.</summary>
    public Dictionary<string, string> Peers { get; set; } = [];
}

internal sealed class ListenerOptions
{
    public string Name { get; set; } = "";
    public string Address { get; set; } = "127.0.0.1";
    public int Port { get; set; }

    /// <summary>primary, replica, prefer-replica or any.</summary>
    public string Target { get; set; } = "primary";

    /// <summary>For replica targets: send reads to the primary when no replica qualifies.</summary>
    public bool FallbackToPrimary { get; set; }

    /// <summary>round-robin or least-connections.</summary>
    public string Balance { get; set; } = "round-robin";

    /// <summary>Overrides Auth:Method for this listener.</summary>
    public string? AuthMethod { get; set; }

    /// <summary>disable, allow or require; by default allow when Tls:CertificateFile is set, else disable.</summary>
    public string? ClientTls { get; set; }

    /// <summary>Overrides Pooling:Mode for this listener.</summary>
    public string? PoolMode { get; set; }

    /// <summary>A listener without an explicit mode offers TLS whenever PgRouter has a certificate.</summary>
    public Tls.ClientTlsMode EffectiveClientTls(TlsOptions tls) =>
        Tls.TlsModes.TryParseClient(ClientTls, out var mode) ? mode
        : tls.CertificateFile is null ? Tls.ClientTlsMode.Disable
        : Tls.ClientTlsMode.Allow;
}

internal sealed class DatabaseOptions
{
    public string Cluster { get; set; } = "";

    /// <summary>The database's name on the servers; by default the name the client asked for.</summary>
    public string? Database { get; set; }

    /// <summary>Overrides the listener's target for this database.</summary>
    public string? Target { get; set; }

    /// <summary>Overrides the listener's and Auth:Method for this database.</summary>
    public string? AuthMethod { get; set; }

    /// <summary>Overrides of the Pooling settings (and the listener's pool mode) for this database.</summary>
    public PoolOverrides? Pool { get; set; }
}

/// <summary>A database's own pool settings; what is not set comes from Pooling.</summary>
internal sealed class PoolOverrides
{
    public string? Mode { get; set; }
    public int? Size { get; set; }
    public int? MinIdle { get; set; }
    public TimeSpan? IdleTimeout { get; set; }
    public TimeSpan? Lifetime { get; set; }
    public TimeSpan? QueueTimeout { get; set; }
    public TimeSpan? ConnectTimeout { get; set; }
}

internal sealed class ClusterOptions
{
    /// <summary>etcd (a Patroni cluster) or static (hosts whose roles PgRouter probes itself).</summary>
    public string Source { get; set; } = "etcd";

    /// <summary>Patroni's scope; by default the cluster's name.</summary>
    public string? Scope { get; set; }

    /// <summary>Patroni's namespace; by default Etcd:Namespace.</summary>
    public string? Namespace { get; set; }

    /// <summary>For static clusters: host:port of every member.</summary>
    public List<string> Hosts { get; set; } = [];

    /// <summary>Replicas further behind the leader than this take no reads.</summary>
    public long MaxLagBytes { get; set; } = 16 * 1024 * 1024;
}

internal sealed class EtcdOptions
{
    /// <summary>Client URLs of the etcd members, e.g. http://10.0.0.1:2379.</summary>
    public List<string> Endpoints { get; set; } = [];
    public string Namespace { get; set; } = "/service";
    public string? Username { get; set; }
    public string? Password { get; set; }

    /// <summary>Limit for each unary call (range, authenticate) to one endpoint.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A watch that delivers nothing for this long is re-established (Patroni writes status every loop_wait).</summary>
    public TimeSpan WatchIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    public KeepaliveOptions Keepalive { get; set; } = new() { Time = TimeSpan.FromSeconds(20), Interval = TimeSpan.FromSeconds(3), Probes = 3, UserTimeout = TimeSpan.FromSeconds(30) };
}

/// <summary>PgRouter's own login to every member, to learn roles and replay positions first hand.</summary>
internal sealed class MonitorOptions
{
    /// <summary>A login role; it needs no privilege. Without one, roles and lag come from Patroni only.</summary>
    public string? User { get; set; }
    public string? Password { get; set; }
    public string Database { get; set; } = "postgres";
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a newly elected leader is probed until it takes writes.</summary>
    public TimeSpan PromotionInterval { get; set; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);
}

internal sealed class ConnectionOptions
{
    /// <summary>A client must finish its startup packet, TLS handshake and authentication within this time.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(15);
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a new connection or transaction waits for a primary (promotion, switchover, pause) before it is refused with 57P03.</summary>
    public TimeSpan PauseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest Query, Parse, Bind, FunctionCall or CopyData message a client may send.</summary>
    public int MaxMessageBytes { get; set; } = Protocol.FrontendMessageRules.LargeMessageLimit;

    /// <summary>Log every session's start and end, like PgBouncer's log_connections and log_disconnections.</summary>
    public bool LogConnections { get; set; } = true;

    /// <summary>Threads that carry plain TCP connections (epoll loops); 0 picks one per 4 cores, at least one.</summary>
    public int IoThreads { get; set; }

    public KeepaliveOptions ClientKeepalive { get; set; } = new();
    public KeepaliveOptions ServerKeepalive { get; set; } = new();
}

/// <summary>TCP keepalive on a socket, so that dead peers are noticed; a zero user timeout leaves the kernel's default.</summary>
internal sealed class KeepaliveOptions
{
    private const int IpProtoTcp = 6;
    private const int TcpUserTimeout = 18;

    public bool Enabled { get; set; } = true;
    public TimeSpan Time { get; set; } = TimeSpan.FromSeconds(60);
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);
    public int Probes { get; set; } = 6;

    /// <summary>TCP_USER_TIMEOUT: unacknowledged data for this long drops the connection.</summary>
    public TimeSpan UserTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>Also turns off Nagle's delay: every PgRouter socket carries request/response traffic.</summary>
    public void ApplyTo(Socket socket)
    {
        socket.NoDelay = true;
        if (!Enabled)
        {
            return;
        }
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)Time.TotalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)Interval.TotalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, Probes);
        if (UserTimeout > TimeSpan.Zero && OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(IpProtoTcp, TcpUserTimeout, BitConverter.GetBytes((int)UserTimeout.TotalMilliseconds));
        }
    }
}

/// <summary>Server connections shared by clients (not for passthrough logins, which relay one connection each).</summary>
internal sealed class PoolingOptions
{
    /// <summary>transaction (a server per transaction) or session (a server per client session).</summary>
    public string Mode { get; set; } = "transaction";

    /// <summary>Server connections per (member, database, user) at most.</summary>
    public int Size { get; set; } = 20;
    public int MinIdle { get; set; }
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a client waits for a connection of a full pool before it gets 53300.</summary>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long opening and logging in a server connection may take; by default Connections:ConnectTimeout.</summary>
    public TimeSpan? ConnectTimeout { get; set; }
}

/// <summary>How PgRouter checks clients, where their secrets come from, and how it logs in to servers.</summary>
internal sealed class AuthOptions
{
    /// <summary>scram-sha-256, md5, password, trust, cert or passthrough.</summary>
    public string Method { get; set; } = "scram-sha-256";

    /// <summary>PgBouncer-style userlist.txt: "user" "SCRAM secret, md5 hash or password".</summary>
    public string? UsersFile { get; set; }

    /// <summary>Secrets looked up on the primary for users not in the users file.</summary>
    public AuthQueryOptions? AuthQuery { get; set; }

    /// <summary>Failed logins from one address within FailureWindow before it is refused outright; 0 turns this off.</summary>
    public int MaxFailures { get; set; } = 10;
    public TimeSpan FailureWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Server credentials per user, for users whose own proof cannot log in to servers (md5, trust, cert).</summary>
    public Dictionary<string, ServerUserOptions> ServerUsers { get; set; } = [];

    /// <summary>Every client logs in to servers as this one user.</summary>
    public ServerUserOptions? ServerUser { get; set; }
}

internal sealed class AuthQueryOptions
{
    /// <summary>The login that runs the query; give it as little as the query needs (a SECURITY DEFINER function).</summary>
    public string User { get; set; } = "";
    public string? Password { get; set; }
    public string Database { get; set; } = "postgres";

    /// <summary>Takes the user name as $1 and returns (name, secret); NULL secret or no row means no login.</summary>
    public string Query { get; set; } = "SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END FROM pg_authid WHERE rolname = $1 AND rolcanlogin";

    /// <summary>How long an answer (a found secret or an unknown user) is reused.</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class ServerUserOptions
{
    /// <summary>Only for ServerUser: the role to log in as.</summary>
    public string? User { get; set; }
    public string? Password { get; set; }
}

/// <summary>PgRouter's own certificate for clients (PEM files, read again when they change).</summary>
internal sealed class TlsOptions
{
    public string? CertificateFile { get; set; }
    public string? KeyFile { get; set; }

    /// <summary>CA bundle client certificates must chain to (needed for the cert method).</summary>
    public string? ClientCaFile { get; set; }
}

/// <summary>TLS from PgRouter to the servers, with libpq's sslmode names.</summary>
internal sealed class ServerTlsOptions
{
    /// <summary>disable, prefer, require, verify-ca or verify-full.</summary>
    public string Mode { get; set; } = "prefer";

    /// <summary>CA bundle for verify-ca and verify-full.</summary>
    public string? CaFile { get; set; }
}

internal sealed class AdminOptions
{
    /// <summary>Where the health and topology HTTP endpoints listen (several separated by ';').</summary>
    public string? Urls { get; set; } = "http://127.0.0.1:6480";
}
