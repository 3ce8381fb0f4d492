using PgRouter.Pooling;
using PgRouter.Topology;

namespace PgRouter.Admin;

/// <summary>
/// HTTP for load balancers and operators: /health answers 200 while this instance can route
/// (every cluster has a topology, even a stale one), /clusters shows what PgRouter believes,
/// /pools the server connections it holds; POSTs pause, resume and switch over a cluster.
/// </summary>
internal static class AdminEndpoints
{
    private static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(10);

    public static void Map(WebApplication app, TopologyStore topology, PoolRegistry pools, ClusterControl control)
    {
        // An operator's request runs to its end even if the HTTP client gives up: a half-done switchover helps nobody.
        var stopping = app.Lifetime.ApplicationStopping;
        app.MapPost("/clusters/{name}/pause", async (string name, double? drainTimeout) =>
            Answer(await control.PauseAsync(name, Seconds(drainTimeout), stopping)));
        app.MapPost("/clusters/{name}/resume", (string name) => Answer(control.Resume(name)));
        app.MapPost("/clusters/{name}/switchover", async (string name, string? candidate, double? drainTimeout) =>
            Answer(await control.SwitchoverAsync(name, candidate, Seconds(drainTimeout), stopping)));

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

    private static TimeSpan Seconds(double? value) => value is > 0 ? TimeSpan.FromSeconds(value.Value) : DefaultDrainTimeout;

    private static IResult Answer(ControlResult result) => Results.Json(new
    {
        ok = result.Status == StatusCodes.Status200OK,
        message = result.Message,
        busyLeft = result.BusyLeft,
        heldSeconds = Math.Round(result.HeldSeconds, 3),
        newLeader = result.NewLeader,
    }, statusCode: result.Status);

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
        hold = cluster.Hold.ToString().ToLowerInvariant(),
        holdReason = cluster.HoldReason,
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
