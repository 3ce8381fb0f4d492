using PgRouter.Pooling;
using PgRouter.Topology;

namespace PgRouter.Admin;

/// <summary>
/// HTTP for load balancers and operators: /health answers 200 while this instance can route
/// (every cluster has a topology, even a stale one), /clusters shows what PgRouter believes,
/// /pools the server connections it holds.
/// </summary>
internal static class AdminEndpoints
{
    public static void Map(WebApplication app, TopologyStore topology, PoolRegistry pools)
    {
        app.MapGet("/health", () =>
        {
            var clusters = topology.Clusters.Select(topology.Current).ToList();
            bool healthy = clusters.All(c => c.HasData);
            var body = new
            {
                status = healthy ? "ok" : "unavailable",
                clusters = clusters.Select(c => new { name = c.Name, hasData = c.HasData, stale = c.IsStale, primary = c.Primary?.Name }),
            };
            return Results.Json(body, statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });

        app.MapGet("/clusters", () => topology.Clusters.Select(name => Describe(topology.Current(name))));
        app.MapGet("/clusters/{name}", (string name) =>
            topology.Clusters.Contains(name) ? Results.Json(Describe(topology.Current(name))) : Results.NotFound());

        app.MapGet("/pools", () => pools.Pools.OrderBy(p => p.Key.ToString(), StringComparer.Ordinal).Select(pool =>
        {
            var (total, idle, waiting) = pool.Counts();
            return new
            {
                cluster = pool.Key.Cluster,
                member = pool.Key.Member,
                database = pool.Key.Database,
                user = pool.Key.User,
                mode = pool.Key.Parameters == 0 ? "transaction" : "session",
                size = pool.Settings.Size,
                total,
                idle,
                active = total - idle,
                waiting,
                idleServerPids = pool.IdleProcessIds(),
            };
        }));
    }

    private static object Describe(ClusterTopology cluster) => new
    {
        name = cluster.Name,
        version = cluster.Version,
        etcdRevision = cluster.DcsRevision,
        hasData = cluster.HasData,
        stale = cluster.IsStale,
        leader = cluster.LeaderName,
        primaryStatus = cluster.PrimaryStatus.ToString().ToLowerInvariant(),
        primaryReason = cluster.PrimaryReason,
        failover = cluster.Failover is { } f ? new { leader = f.Leader, candidate = f.Candidate, scheduledAt = f.ScheduledAt } : null,
        switchoverPending = cluster.SwitchoverPending,
        members = cluster.Members.Select(m => new
        {
            name = m.Name,
            address = m.Address,
            host = m.Host,
            port = m.Port,
            isLeader = m.IsLeader,
            role = m.Role,
            state = m.State,
            timeline = m.Timeline,
            lagBytes = m.LagBytes,
            noLoadBalance = m.NoLoadBalance,
            noFailover = m.NoFailover,
            inRecovery = m.InRecovery,
            reachable = m.Reachable,
            takesReads = m.NotReadableReason is null,
            notReadableReason = m.NotReadableReason,
        }),
    };
}
