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

    public AdminOptions Admin { get; set; } = new();
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
}

internal sealed class DatabaseOptions
{
    public string Cluster { get; set; } = "";

    /// <summary>The database's name on the servers; by default the name the client asked for.</summary>
    public string? Database { get; set; }

    /// <summary>Overrides the listener's target for this database.</summary>
    public string? Target { get; set; }
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
    /// <summary>A client must complete its startup packet within this time.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(15);
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a new connection waits for a primary (promotion, switchover) before it is refused.</summary>
    public TimeSpan PrimaryWaitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest Query, Parse, Bind, FunctionCall or CopyData message a client may send.</summary>
    public int MaxMessageBytes { get; set; } = Protocol.FrontendMessageRules.LargeMessageLimit;

    /// <summary>Log every session's start and end, like PgBouncer's log_connections and log_disconnections.</summary>
    public bool LogConnections { get; set; } = true;

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

internal sealed class AdminOptions
{
    /// <summary>Where the health and topology HTTP endpoints listen (several separated by ';').</summary>
    public string? Urls { get; set; } = "http://127.0.0.1:6480";
}
