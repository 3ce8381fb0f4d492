using PgRouter.Configuration;
using PgRouter.Protocol;
using PgRouter.Routing;
using PgRouter.Servers;
using PgRouter.Tls;
using PgRouter.Topology;

namespace PgRouter.Connections;

/// <summary>
/// Finds a server for a relayed (passthrough) session: routes and connects, tries other members
/// when one cannot be reached, and waits (bounded) while the cluster has no primary. The server
/// checks the client itself; the relay watches for a standby where a primary was wanted.
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
    /// <param name="stopping">PgRouter is shutting down: stop waiting.</param>
    public async Task<ServerSelection> SelectAsync(string client, string cluster, RouteTarget target, ReplicaPolicy replicas, CancellationToken stopping)
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
                        lastError = Unreachable(client, cluster, member, current, error!, unreachable);
                        if (!error!.ServerDown)
                        {
                            // PgRouter itself is refused (TLS): another try or another member will not do better.
                            return ServerSelection.Refused(new PgError(SqlState.SqlServerRejectedEstablishment, error.Message));
                        }
                        continue;
                    }
                    return new ServerSelection(server, member, current.LeaderRevision, null);

                case RouteOutcome.Refuse:
                    // After failed connects, what went wrong with the last one is what the client needs to hear.
                    return ServerSelection.Refused(lastError is null ? decision.Error! : decision.Error! with { Detail = lastError });
            }

            if (waitStarted == 0)
            {
                waitStarted = time.GetTimestamp();
                LogWaiting(client, cluster, RouteTargets.Name(target), decision.Reason);
            }
            var remaining = options.PauseTimeout - time.GetElapsedTime(waitStarted);
            if (remaining <= TimeSpan.Zero)
            {
                return ServerSelection.Refused(new PgError(SqlState.CannotConnectNow,
                    $"no {RouteTargets.Name(target)} server available in cluster {cluster} after waiting {options.PauseTimeout.TotalSeconds:0.#} s",
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

    private string Unreachable(string client, string cluster, MemberView member, ClusterTopology current, ConnectError error, List<string> unreachable)
    {
        LogConnectFailed(client, cluster, member.Name, error.Message);
        evidence.ConnectFailed(cluster, member.Name, current.LeaderRevision, error.Message, error.ServerDown);
        Router.ExcludeAfterConnectFailure(member, unreachable);
        return $"{member.Name}: {error.Message}";
    }

    [LoggerMessage(303, LogLevel.Warning, "client {Client}: cluster {Cluster} member {Member} unreachable: {Error}")]
    private partial void LogConnectFailed(string client, string cluster, string member, string error);

    [LoggerMessage(304, LogLevel.Information, "client {Client} waits for a {Target} server of cluster {Cluster}: {Reason}")]
    private partial void LogWaiting(string client, string cluster, string target, string reason);
}
