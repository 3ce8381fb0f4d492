using System.Collections.Immutable;
using PgRouter.Configuration;
using PgRouter.Pooling;
using PgRouter.Protocol;
using PgRouter.Routing;
using PgRouter.Servers;
using PgRouter.Topology;

namespace PgRouter.Connections;

/// <summary>Where one pooled session's transactions go: cluster, target, and the pool login it shares.</summary>
/// <param name="Pool">The database name the client asked for: clients of one name share pools (with that name's settings).</param>
/// <param name="Database">The database on the server.</param>
internal sealed record PoolRoute(
    string Cluster,
    string Pool,
    RouteTarget Target,
    ReplicaPolicy Replicas,
    string Database,
    ServerCredentials Credentials,
    PoolSettings Settings,
    StartupParameters LoginParameters,
    ulong LoginFingerprint);

/// <summary>
/// Finds a pooled server connection for one transaction: the gate is the topology (no primary, a
/// switchover under way, a pause: the transaction waits, up to the pause timeout), then the pool of
/// the chosen member. A member that cannot take connections, or turns out to be a standby where a
/// primary was wanted, is reported and the transaction routed again.
/// </summary>
internal sealed partial class PoolSelector(
    ConnectionOptions options,
    TopologyStore topology,
    PoolRegistry pools,
    IMemberEvidence evidence,
    TimeProvider time,
    ILogger<PoolSelector> logger)
{
    private static readonly IReadOnlyCollection<string> NoExclusions = [];

    /// <summary>The server parameters a pool of this route last reported (any member: they share one configuration), if any.</summary>
    public ImmutableDictionary<string, string>? KnownParameters(PoolRoute route) => pools.Pools
        .FirstOrDefault(p => p.Parameters is not null && p.Key.Cluster == route.Cluster && p.Key.Database == route.Pool
            && p.Key.User == route.Credentials.User && p.Key.Parameters == route.LoginFingerprint)?.Parameters;

    public async ValueTask<(Acquisition Result, MemberView? Member)> AcquireAsync(string client, PoolRoute route, CancellationToken stopping)
    {
        List<string>? unreachable = null;
        string? lastError = null;
        long waitStarted = 0;
        while (true)
        {
            var current = topology.Current(route.Cluster);
            var decision = Router.Decide(route.Target, current, route.Replicas, (IReadOnlyCollection<string>?)unreachable ?? NoExclusions);
            switch (decision.Outcome)
            {
                case RouteOutcome.Connect:
                    var member = decision.Member!;
                    var pool = pools.Get(new PoolKey(route.Cluster, member.Name, route.Pool, route.Credentials.User, route.LoginFingerprint), route.Settings, route.LoginParameters);
                    var acquired = await pool.AcquireAsync(member, route.Credentials, expectPrimary: member.IsLeader, stopping).ConfigureAwait(false);
                    switch (acquired.Failure)
                    {
                        case AcquireFailure.None or AcquireFailure.Refused or AcquireFailure.Timeout:
                            return (acquired, member);
                        case AcquireFailure.Unreachable:
                            string error = acquired.Error?.ToString() ?? "unreachable";
                            LogUnreachable(client, route.Cluster, member.Name, error);
                            evidence.ConnectFailed(route.Cluster, member.Name, current.LeaderRevision, error, serverDown: true);
                            Router.ExcludeAfterConnectFailure(member, unreachable ??= []);
                            lastError = $"{member.Name}: {error}";
                            continue;
                        case AcquireFailure.WrongRole:
                            // Taken out of the primary role by the report; the next decision waits or goes elsewhere.
                            evidence.RecoveryStateSeen(route.Cluster, member.Name, current.LeaderRevision, inRecovery: true);
                            continue;
                        default:
                            continue;
                    }

                case RouteOutcome.Refuse:
                    var refusal = lastError is null ? decision.Error! : decision.Error! with { Detail = lastError };
                    return (Acquisition.Failed(AcquireFailure.Refused, refusal), null);
            }

            // Taken before the second look, so that a change between the two is not missed.
            var changed = topology.NextChange(route.Cluster);
            if (topology.Current(route.Cluster) != current)
            {
                continue;
            }
            if (waitStarted == 0)
            {
                waitStarted = time.GetTimestamp();
                LogWaiting(client, route.Cluster, RouteTargets.Name(route.Target), decision.Reason);
            }
            var remaining = options.PauseTimeout - time.GetElapsedTime(waitStarted);
            if (remaining <= TimeSpan.Zero)
            {
                return (Acquisition.Failed(AcquireFailure.Timeout, new PgError(SqlState.CannotConnectNow,
                    $"no {RouteTargets.Name(route.Target)} server available in cluster {route.Cluster} after waiting {options.PauseTimeout.TotalSeconds:0.#} s",
                    decision.Reason)), null);
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
                return (Acquisition.Failed(AcquireFailure.Refused, ServerSelector.ShuttingDown), null);
            }
        }
    }

    [LoggerMessage(310, LogLevel.Warning, "client {Client}: cluster {Cluster} member {Member} takes no connections: {Error}")]
    private partial void LogUnreachable(string client, string cluster, string member, string error);

    [LoggerMessage(311, LogLevel.Information, "client {Client} waits for a {Target} server of cluster {Cluster}: {Reason}")]
    private partial void LogWaiting(string client, string cluster, string target, string reason);
}
