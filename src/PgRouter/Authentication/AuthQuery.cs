using System.Collections.Concurrent;
using PgRouter.Configuration;
using PgRouter.Protocol;
using PgRouter.Servers;
using PgRouter.Tls;
using PgRouter.Topology;

namespace PgRouter.Authentication;

/// <summary>
/// Looks up a user's secret on the cluster itself, the way PgBouncer's auth_query does: one
/// connection per cluster as the auth user, to the current primary (it follows the leader; a
/// replica serves while there is none), answers cached for a short time.
/// </summary>
internal sealed partial class AuthQuery(
    AuthQueryOptions options,
    TopologyStore topology,
    ConnectionOptions connections,
    ServerTlsConnector tls,
    TimeProvider time,
    ILogger<AuthQuery> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string Cluster, string User), (SecretLookup Answer, long At)> _cache = new();
    private readonly ConcurrentDictionary<string, ClusterConnection> _connections = new();

    public async Task<SecretLookup> LookupAsync(string cluster, string user, CancellationToken cancellationToken)
    {
        if (Cached(cluster, user) is { } cached)
        {
            return cached;
        }

        var slot = _connections.GetOrAdd(cluster, _ => new ClusterConnection());
        await slot.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another login may have asked for the same user meanwhile.
            if (Cached(cluster, user) is { } fresh)
            {
                return fresh;
            }
            var answer = await QueryAsync(slot, cluster, user, cancellationToken).ConfigureAwait(false);
            if (answer.Unavailable is null)
            {
                _cache[(cluster, user)] = (answer, time.GetTimestamp());
            }
            return answer;
        }
        finally
        {
            slot.Lock.Release();
        }
    }

    private SecretLookup? Cached(string cluster, string user) =>
        _cache.TryGetValue((cluster, user), out var entry) && time.GetElapsedTime(entry.At) < options.CacheTtl ? entry.Answer : null;

    private async Task<SecretLookup> QueryAsync(ClusterConnection slot, string cluster, string user, CancellationToken cancellationToken)
    {
        var current = topology.Current(cluster);
        var member = current.Primary ?? current.Members.FirstOrDefault(m => !m.IsLeader && m.NotReadableReason is null);
        if (member is null)
        {
            return SecretLookup.Failed($"no server of cluster {cluster} to run the auth query on ({current.PrimaryReason})");
        }

        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (slot.Connection is null || slot.Address != member.Address)
            {
                await slot.CloseAsync().ConfigureAwait(false);
                var (connection, error) = await ServerConnection.ConnectAsync(cluster, member.Name, member.Host, member.Port,
                    connections.ConnectTimeout, connections.ServerKeepalive, tls).ConfigureAwait(false);
                if (connection is null)
                {
                    return Unavailable(cluster, member.Name, error!.Message);
                }
                var parameters = new StartupParameters();
                parameters.Set("user", options.User);
                parameters.Set("database", options.Database);
                parameters.Set("application_name", "pgrouter-auth");
                var login = await ServerLogin.LoginAsync(connection, parameters, new ServerCredentials(options.User, options.Password), cancellationToken).ConfigureAwait(false);
                if (!login.Succeeded)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    return Unavailable(cluster, member.Name, $"the auth user {options.User} cannot log in: {login.Error}");
                }
                (slot.Connection, slot.Address) = (connection, member.Address);
                LogConnected(cluster, member.Name, options.User);
            }

            var result = await ServerQuery.RunAsync(slot.Connection, options.Query, [user], cancellationToken).ConfigureAwait(false);
            if (result is null)
            {
                // The connection broke (the member restarted or was demoted): one fresh try.
                await slot.CloseAsync().ConfigureAwait(false);
                continue;
            }
            if (result.Error is { } queryError)
            {
                return Unavailable(cluster, member.Name, $"the auth query failed: {queryError}");
            }
            return result.Rows is [[_, { } stored, ..], ..] ? SecretLookup.Found(UserSecret.Parse(user, stored)) : SecretLookup.Unknown;
        }
        return Unavailable(cluster, member.Name, "the connection for the auth query broke twice");
    }

    private SecretLookup Unavailable(string cluster, string member, string reason)
    {
        LogUnavailable(cluster, member, reason);
        return SecretLookup.Failed(reason);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var slot in _connections.Values)
        {
            await slot.CloseAsync().ConfigureAwait(false);
        }
    }

    private sealed class ClusterConnection
    {
        public SemaphoreSlim Lock { get; } = new(1, 1);
        public ServerConnection? Connection { get; set; }
        public string? Address { get; set; }

        public async ValueTask CloseAsync()
        {
            if (Connection is { } connection)
            {
                Connection = null;
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(710, LogLevel.Information, "cluster {Cluster} member {Member}: auth query connection open as {User}")]
    private partial void LogConnected(string cluster, string member, string user);

    [LoggerMessage(711, LogLevel.Warning, "cluster {Cluster} member {Member}: auth query unavailable: {Reason}")]
    private partial void LogUnavailable(string cluster, string member, string reason);
}
