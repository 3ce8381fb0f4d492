using PgRouter.Configuration;
using PgRouter.Protocol;
using PgRouter.Routing;
using PgRouter.Servers;
using PgRouter.Tls;
using PgRouter.Topology;

namespace PgRouter.Connections;

/// <summary>
/// Finds a server for one client: routes, connects and (with credentials) logs in, tries other
/// members when one cannot be reached or cannot take logins now, and waits (bounded) while the
/// cluster has no primary. A server that turns out to be a standby where a primary was wanted is
/// reported, and routing starts over.
/// </summary>
internal sealed partial class ServerSelector(
    ConnectionOptions options,
    TopologyStore topology,
    IMemberEvidence evidence,
    ServerTlsConnector serverTls,
    TimeProvider time,
    ILogger<ServerSelector> logger)
{
    public static readonly PgError ShuttingDown = new(SqlState.AdminShutdown, "terminating connection due to administrator command", "PgRouter is shutting down.");

    /// <param name="client">For logs.</param>
    /// <param name="credentials">Null for a relayed login: the server is returned connected, not logged in.</param>
    /// <param name="stopping">PgRouter is shutting down: stop waiting.</param>
    public async Task<ServerSelection> SelectAsync(string client, string cluster, RouteTarget target, ReplicaPolicy replicas,
        StartupParameters serverParameters, ServerCredentials? credentials, CancellationToken stopping)
    {
        var unreachable = new List<string>();
        string? lastError = null;
        long waitStarted = 0;
        while (true)
        {
            var changed = topology.NextChange(cluster);
            var current = topology.Current(cluster);
            var decision = Router.Decide(target, current, replicas, unreachable);
            switch (decision.Outcome)
            {
                case RouteOutcome.Connect:
                    var member = decision.Member!;
                    var (server, error) = await ServerConnection.ConnectAsync(
                        cluster, member.Name, member.Host, member.Port, options.ConnectTimeout, options.ServerKeepalive, serverTls).ConfigureAwait(false);
                    if (server is null)
                    {
                        lastError = Unreachable(client, cluster, member.Name, current, error!, unreachable);
                        continue;
                    }
                    if (credentials is null)
                    {
                        return new ServerSelection(server, member, current.LeaderRevision, null, null);
                    }

                    using (var deadline = new CancellationTokenSource(options.ConnectTimeout))
                    {
                        var login = await ServerLogin.LoginAsync(server, serverParameters, credentials, deadline.Token).ConfigureAwait(false);
                        if (login.Error is { SqlState: SqlState.CannotConnectNow or SqlState.AdminShutdown or SqlState.CrashShutdown } notNow)
                        {
                            // Starting up, shutting down, recovering from a crash: another member may serve.
                            await server.DisposeAsync().ConfigureAwait(false);
                            lastError = Unreachable(client, cluster, member.Name, current, notNow.ToString(), unreachable);
                            continue;
                        }
                        if (login.Error is { } refused)
                        {
                            await server.DisposeAsync().ConfigureAwait(false);
                            return ServerSelection.Refused(refused with
                            {
                                Detail = $"PgRouter could not log in to member {member.Name} of cluster {cluster} as {credentials.User}. {refused.Detail}".TrimEnd(),
                            });
                        }
                        if (member.IsLeader && login.Parameter("in_hot_standby") == "on")
                        {
                            // Taken out of the primary role by the report; the next decision waits or goes elsewhere.
                            await server.DisposeAsync().ConfigureAwait(false);
                            evidence.RecoveryStateSeen(cluster, member.Name, current.LeaderRevision, inRecovery: true);
                            continue;
                        }
                        return new ServerSelection(server, member, current.LeaderRevision, login, null);
                    }

                case RouteOutcome.Refuse:
                    // After failed connects, what went wrong with the last one is what the client needs to hear.
                    return ServerSelection.Refused(lastError is null ? decision.Error! : decision.Error! with { Detail = lastError });
            }

            if (waitStarted == 0)
            {
                waitStarted = time.GetTimestamp();
                LogWaiting(client, cluster, RouteTargets.Name(target), decision.Reason);
            }
            var remaining = options.PrimaryWaitTimeout - time.GetElapsedTime(waitStarted);
            if (remaining <= TimeSpan.Zero)
            {
                return ServerSelection.Refused(new PgError(SqlState.CannotConnectNow,
                    $"no {RouteTargets.Name(target)} server available in cluster {cluster} after waiting {options.PrimaryWaitTimeout.TotalSeconds:0.#} s",
                    decision.Reason));
            }
            try
            {
                await changed.WaitAsync(remaining, time, stopping).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException)
            {
                return ServerSelection.Refused(ShuttingDown);
            }
        }
    }

    private string Unreachable(string client, string cluster, string member, ClusterTopology current, string error, List<string> unreachable)
    {
        LogConnectFailed(client, cluster, member, error);
        evidence.ConnectFailed(cluster, member, current.LeaderRevision, error);
        unreachable.Add(member);
        return $"{member}: {error}";
    }

    [LoggerMessage(303, LogLevel.Warning, "client {Client}: cluster {Cluster} member {Member} unreachable: {Error}")]
    private partial void LogConnectFailed(string client, string cluster, string member, string error);

    [LoggerMessage(304, LogLevel.Information, "client {Client} waits for a {Target} server of cluster {Cluster}: {Reason}")]
    private partial void LogWaiting(string client, string cluster, string target, string reason);
}
