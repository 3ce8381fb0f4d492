using System.Net;
using PgRouter.Authentication;
using PgRouter.Protocol;
using PgRouter.Routing;
using PgRouter.Tls;

namespace PgRouter.Configuration;

/// <summary>Checks the whole configuration at start and says, key by key, what to fix.</summary>
internal static class PgRouterOptionsValidator
{
    public static IReadOnlyList<string> Validate(PgRouterOptions options)
    {
        var problems = new List<string>();
        void Check(bool ok, string key, string message)
        {
            if (!ok)
            {
                problems.Add($"{PgRouterOptions.Section}:{key}: {message}");
            }
        }

        Check(options.Listeners.Count > 0, "Listeners", "add at least one listener, e.g. { \"Name\": \"read-write\", \"Port\": 6432, \"Target\": \"primary\" }");
        var endpoints = new HashSet<string>();
        for (int i = 0; i < options.Listeners.Count; i++)
        {
            var listener = options.Listeners[i];
            string key = $"Listeners:{i}";
            Check(listener.Name.Length > 0, $"{key}:Name", "give the listener a name (it appears in logs)");
            Check(options.Listeners.Count(l => l.Name == listener.Name) == 1, $"{key}:Name", $"'{listener.Name}' is used by more than one listener");
            Check(IPAddress.TryParse(listener.Address, out _), $"{key}:Address", $"'{listener.Address}' is not an IP address (use 127.0.0.1, 0.0.0.0 or ::)");
            Check(listener.Port is > 0 and < 65536, $"{key}:Port", $"{listener.Port} is not a TCP port");
            Check(endpoints.Add($"{listener.Address}:{listener.Port}"), $"{key}:Port", $"{listener.Address}:{listener.Port} is used by another listener");
            Check(RouteTargets.TryParse(listener.Target, out _), $"{key}:Target", $"'{listener.Target}' is not one of primary, replica, prefer-replica, any");
            Check(listener.Balance is "round-robin" or "least-connections", $"{key}:Balance", $"'{listener.Balance}' is not one of round-robin, least-connections");
        }

        Check(options.Clusters.Count > 0, "Clusters", "add at least one cluster, e.g. \"demo\": { \"Source\": \"etcd\", \"Scope\": \"demo\" }");
        foreach (var (name, cluster) in options.Clusters)
        {
            string key = $"Clusters:{name}";
            Check(cluster.MaxLagBytes >= 0, $"{key}:MaxLagBytes", "must be zero or more");
            switch (cluster.Source)
            {
                case "etcd":
                    Check(options.Etcd.Endpoints.Count > 0, "Etcd:Endpoints", $"cluster '{name}' is found through etcd: list the etcd client URLs, e.g. [\"http://127.0.0.1:2379\"]");
                    Check((cluster.Namespace ?? options.Etcd.Namespace).StartsWith('/'), $"{key}:Namespace", "must start with '/', like Patroni's namespace (default /service)");
                    break;
                case "static":
                    Check(cluster.Hosts.Count > 0, $"{key}:Hosts", "list the members as host:port");
                    foreach (string host in cluster.Hosts)
                    {
                        Check(HostPort.TryParse(host, out _, out _), $"{key}:Hosts", $"'{host}' is not host:port");
                    }
                    Check(options.Monitor.User is not null, "Monitor:User", $"static cluster '{name}' needs a monitor login to find its primary");
                    break;
                default:
                    Check(false, $"{key}:Source", $"'{cluster.Source}' is not one of etcd, static");
                    break;
            }
        }

        Check(options.Databases.Count > 0, "Databases", "map at least one database, e.g. \"*\": { \"Cluster\": \"demo\" }");
        foreach (var (name, database) in options.Databases)
        {
            string key = $"Databases:{name}";
            Check(options.Clusters.ContainsKey(database.Cluster), $"{key}:Cluster", $"'{database.Cluster}' is not a configured cluster ({string.Join(", ", options.Clusters.Keys)})");
            Check(database.Target is null || RouteTargets.TryParse(database.Target, out _), $"{key}:Target", $"'{database.Target}' is not one of primary, replica, prefer-replica, any");
        }

        foreach (string endpoint in options.Etcd.Endpoints)
        {
            Check(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https", "Etcd:Endpoints", $"'{endpoint}' is not an http(s) URL like http://127.0.0.1:2379");
        }
        Check(options.Etcd.Username is null || options.Etcd.Password is not null, "Etcd:Password", "a username needs a password");
        Check(options.Etcd.RequestTimeout > TimeSpan.Zero, "Etcd:RequestTimeout", "must be positive");
        Check(options.Etcd.WatchIdleTimeout > TimeSpan.Zero, "Etcd:WatchIdleTimeout", "must be positive");

        Check(options.Monitor.Interval > TimeSpan.Zero, "Monitor:Interval", "must be positive");
        Check(options.Monitor.PromotionInterval > TimeSpan.Zero, "Monitor:PromotionInterval", "must be positive");
        Check(options.Monitor.Timeout > TimeSpan.Zero, "Monitor:Timeout", "must be positive");

        var connections = options.Connections;
        Check(connections.StartupTimeout > TimeSpan.Zero, "Connections:StartupTimeout", "must be positive");
        Check(connections.ConnectTimeout > TimeSpan.Zero, "Connections:ConnectTimeout", "must be positive");
        Check(connections.IoThreads is >= 0 and <= 64, "Connections:IoThreads", "must be between 0 (automatic) and 64");
        Check(connections.PauseTimeout >= TimeSpan.Zero, "Connections:PauseTimeout", "must be zero or more");
        Check(connections.MaxMessageBytes is >= Protocol.FrontendMessageRules.SmallMessageLimit and <= Protocol.FrontendMessageRules.LargeMessageLimit,
            "Connections:MaxMessageBytes", $"must be between {Protocol.FrontendMessageRules.SmallMessageLimit} and {Protocol.FrontendMessageRules.LargeMessageLimit}");
        foreach (var (key, keepalive) in new[] { ("Connections:ClientKeepalive", connections.ClientKeepalive), ("Connections:ServerKeepalive", connections.ServerKeepalive), ("Etcd:Keepalive", options.Etcd.Keepalive) })
        {
            Check(keepalive.Time >= TimeSpan.FromSeconds(1) && keepalive.Interval >= TimeSpan.FromSeconds(1), key, "Time and Interval must be at least one second");
            Check(keepalive.Probes is > 0 and <= 127, $"{key}:Probes", "must be between 1 and 127");
            Check(keepalive.UserTimeout >= TimeSpan.Zero, $"{key}:UserTimeout", "must be zero (kernel default) or more");
        }

        ValidateSecurity(options, Check);

        var pooling = options.Pooling;
        Check(pooling.Mode is "transaction" or "session", "Pooling:Mode", $"'{pooling.Mode}' is not one of transaction, session");
        Check(pooling.Size > 0, "Pooling:Size", "must be at least 1");
        Check(pooling.MinIdle >= 0 && pooling.MinIdle <= pooling.Size, "Pooling:MinIdle", "must be between 0 and Pooling:Size");
        Check(pooling.IdleTimeout > TimeSpan.Zero && pooling.Lifetime > TimeSpan.Zero && pooling.QueueTimeout > TimeSpan.Zero && (pooling.ConnectTimeout is null || pooling.ConnectTimeout > TimeSpan.Zero),
            "Pooling", "IdleTimeout, Lifetime, QueueTimeout and ConnectTimeout must be positive");
        for (int i = 0; i < options.Listeners.Count; i++)
        {
            var mode = options.Listeners[i].PoolMode;
            Check(mode is null or "transaction" or "session", $"Listeners:{i}:PoolMode", $"'{mode}' is not one of transaction, session");
        }
        foreach (var (name, database) in options.Databases)
        {
            if (database.Pool is not { } pool)
            {
                continue;
            }
            string key = $"Databases:{name}:Pool";
            int size = pool.Size ?? pooling.Size;
            Check(pool.Mode is null or "transaction" or "session", $"{key}:Mode", $"'{pool.Mode}' is not one of transaction, session");
            Check(size > 0, $"{key}:Size", "must be at least 1");
            Check((pool.MinIdle ?? pooling.MinIdle) is var minIdle && minIdle >= 0 && minIdle <= size, $"{key}:MinIdle", "must be between 0 and the pool size");
            Check(pool.IdleTimeout is null or { Ticks: > 0 } && pool.Lifetime is null or { Ticks: > 0 } && pool.QueueTimeout is null or { Ticks: > 0 }
                && pool.ConnectTimeout is null or { Ticks: > 0 }, key, "IdleTimeout, Lifetime, QueueTimeout and ConnectTimeout must be positive");
        }

        Check(!string.IsNullOrEmpty(options.Admin.Urls), "Admin:Urls", "set where the health and admin endpoints listen, e.g. http://127.0.0.1:6480");
        foreach (string url in (options.Admin.Urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            Check(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == "http", "Admin:Urls", $"'{url}' is not an http URL like http://127.0.0.1:6480");
        }

        var peering = options.Peering;
        Check(peering.Id is >= 0 and <= CancelKeys.MaxPeerId, "Peering:Id", $"must be between 1 and {CancelKeys.MaxPeerId} (0 turns peering off)");
        Check(peering.Peers.Count == 0 || peering.Id > 0, "Peering:Peers", "set Peering:Id for this instance first");
        foreach (var (id, address) in peering.Peers)
        {
            Check(int.TryParse(id, out int peer) && peer is >= 1 and <= CancelKeys.MaxPeerId && peer != peering.Id,
                $"Peering:Peers:{id}", $"'{id}' is not another instance's id (1 to {CancelKeys.MaxPeerId}, not this one's)");
            Check(HostPort.TryParse(address, out _, out _), $"Peering:Peers:{id}", $"'{address}' is not host:port");
        }

        return problems;
    }

    /// <summary>Authentication methods, secret sources and TLS must fit together, listener by listener.</summary>
    private static void ValidateSecurity(PgRouterOptions options, Action<bool, string, string> check)
    {
        var auth = options.Auth;
        check(AuthMethods.TryParse(auth.Method, out var global), "Auth:Method", $"'{auth.Method}' is not one of {AuthMethods.Names}");
        check(auth.MaxFailures >= 0, "Auth:MaxFailures", "must be zero (no limit) or more");
        check(auth.FailureWindow > TimeSpan.Zero, "Auth:FailureWindow", "must be positive");
        check(auth.UsersFile is null || File.Exists(auth.UsersFile), "Auth:UsersFile", $"'{auth.UsersFile}' does not exist");
        if (auth.AuthQuery is { } query)
        {
            check(query.User.Length > 0, "Auth:AuthQuery:User", "name the login that runs the auth query");
            check(query.Query.Contains("$1", StringComparison.Ordinal), "Auth:AuthQuery:Query", "must take the user name as $1");
            check(query.CacheTtl >= TimeSpan.Zero, "Auth:AuthQuery:CacheTtl", "must be zero or more");
        }
        check(auth.ServerUser is null || auth.ServerUser.User is not null, "Auth:ServerUser:User", "name the role every client logs in to servers as");

        var tls = options.Tls;
        check((tls.CertificateFile is null) == (tls.KeyFile is null), "Tls", "set both CertificateFile and KeyFile (PEM), or neither");
        foreach (var (key, file) in new[] { ("Tls:CertificateFile", tls.CertificateFile), ("Tls:KeyFile", tls.KeyFile), ("Tls:ClientCaFile", tls.ClientCaFile), ("ServerTls:CaFile", options.ServerTls.CaFile) })
        {
            check(file is null || File.Exists(file), key, $"'{file}' does not exist");
        }
        check(TlsModes.TryParseServer(options.ServerTls.Mode, out var serverTls), "ServerTls:Mode", $"'{options.ServerTls.Mode}' is not one of disable, prefer, require, verify-ca, verify-full");
        check(serverTls is not (ServerTlsMode.VerifyCa or ServerTlsMode.VerifyFull) || options.ServerTls.CaFile is not null, "ServerTls:CaFile", $"{options.ServerTls.Mode} needs the CA bundle that signed the servers' certificates");

        var secretSource = auth.UsersFile is not null || auth.AuthQuery is not null;
        bool allLoopback = options.Listeners.All(l => IPAddress.TryParse(l.Address, out var a) && IPAddress.IsLoopback(a));
        foreach (var (name, database) in options.Databases)
        {
            if (database.AuthMethod is null)
            {
                continue;
            }
            string key = $"Databases:{name}:AuthMethod";
            check(AuthMethods.TryParse(database.AuthMethod, out var method), key, $"'{database.AuthMethod}' is not one of {AuthMethods.Names}");
            // A database's method meets clients on every listener: TLS is checked per connection then.
            check(method is not (AuthMethod.ScramSha256 or AuthMethod.Md5 or AuthMethod.Password) || secretSource, key,
                $"{Name(method)} needs a source of secrets: Auth:UsersFile or Auth:AuthQuery");
            check(method != AuthMethod.Trust || allLoopback, key, "trust lets anybody in: only when every listener is on loopback");
            check(method != AuthMethod.Cert || tls.ClientCaFile is not null, key, "the cert method needs Tls:ClientCaFile");
        }

        for (int i = 0; i < options.Listeners.Count; i++)
        {
            var listener = options.Listeners[i];
            string key = $"Listeners:{i}";
            check(listener.ClientTls is null || TlsModes.TryParseClient(listener.ClientTls, out _), $"{key}:ClientTls", $"'{listener.ClientTls}' is not one of disable, allow, require");
            check(listener.AuthMethod is null || AuthMethods.TryParse(listener.AuthMethod, out _), $"{key}:AuthMethod", $"'{listener.AuthMethod}' is not one of {AuthMethods.Names}");
            var clientTls = listener.EffectiveClientTls(tls);
            check(clientTls == ClientTlsMode.Disable || tls.CertificateFile is not null, $"{key}:ClientTls", "TLS needs Tls:CertificateFile and Tls:KeyFile");

            var method = AuthMethods.TryParse(listener.AuthMethod, out var own) ? own : global;
            check(method is not (AuthMethod.ScramSha256 or AuthMethod.Md5 or AuthMethod.Password) || secretSource, "Auth",
                $"{Name(method)} on listener {listener.Name} needs a source of secrets: Auth:UsersFile or Auth:AuthQuery");
            check(method != AuthMethod.Trust || (IPAddress.TryParse(listener.Address, out var address) && IPAddress.IsLoopback(address)), $"{key}:Address",
                $"trust lets anybody in: only a loopback listener may use it (listener {listener.Name} is on {listener.Address})");
            check(method != AuthMethod.Password || clientTls == ClientTlsMode.Require, $"{key}:ClientTls",
                $"the password method sends passwords in the clear: listener {listener.Name} must require TLS");
            check(method != AuthMethod.Cert || (clientTls == ClientTlsMode.Require && tls.ClientCaFile is not null), $"{key}:ClientTls",
                $"the cert method needs ClientTls require on listener {listener.Name} and Tls:ClientCaFile");
        }
    }

    private static string Name(AuthMethod method) => method switch
    {
        AuthMethod.ScramSha256 => "scram-sha-256",
        _ => method.ToString().ToLowerInvariant(),
    };
}
