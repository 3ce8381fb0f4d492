using PgRouter.Pooling;
using PgRouter.Topology;

namespace PgRouter.Hosting;

/// <summary>
/// Keeps the pools in shape: closes idle connections past their idle timeout or lifetime, opens
/// them up to MinIdle, and retires the pools of a member that lost the leader key or left the
/// cluster, so no connection to an old primary is ever lent again.
/// </summary>
internal sealed class PoolMaintenanceService(PoolRegistry pools, TopologyStore topology, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var leaders = new Dictionary<string, string?>();
        while (!stoppingToken.IsCancellationRequested)
        {
            var changes = topology.Clusters.Select(topology.NextChange).ToList();
            foreach (string cluster in topology.Clusters)
            {
                var current = topology.Current(cluster);
                if (!current.HasData)
                {
                    continue;
                }
                if (leaders.TryGetValue(cluster, out string? previous) && previous is not null && previous != current.LeaderName)
                {
                    pools.Retire(cluster, pool => pool.Key.Member == previous);
                }
                leaders[cluster] = current.LeaderName;
                pools.Retire(cluster, pool => current.FindMember(pool.Key.Member) is null);
            }
            foreach (var pool in pools.Pools)
            {
                pool.CloseExpired();
                _ = pool.TopUpAsync();
            }
            try
            {
                await Task.WhenAny([.. changes, Task.Delay(Interval, time, stoppingToken)]).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
