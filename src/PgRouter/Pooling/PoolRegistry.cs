using System.Collections.Concurrent;
using PgRouter.Protocol;

namespace PgRouter.Pooling;

/// <summary>Every pool, found by key; pools are made on first use and retired when their member loses its role.</summary>
internal sealed class PoolRegistry(ServerFactory factory, TimeProvider time, ILoggerFactory loggers)
{
    private readonly ConcurrentDictionary<PoolKey, ServerPool> _pools = new();
    private readonly ILogger<ServerPool> _logger = loggers.CreateLogger<ServerPool>();

    public IEnumerable<ServerPool> Pools => _pools.Values;

    /// <summary>The live pool for the key; a retired one is replaced.</summary>
    public ServerPool Get(PoolKey key, PoolSettings settings, StartupParameters loginParameters)
    {
        while (true)
        {
            var pool = _pools.TryGetValue(key, out var existing) ? existing
                : _pools.GetOrAdd(key, k => new ServerPool(k, settings, loginParameters, factory, time, _logger));
            if (!pool.IsRetired)
            {
                return pool;
            }
            _pools.TryRemove(KeyValuePair.Create(key, pool));
        }
    }

    /// <summary>Retires the pools of a cluster the predicate picks; their clients route again.</summary>
    public void Retire(string cluster, Func<ServerPool, bool> retire)
    {
        foreach (var pool in _pools.Values)
        {
            if (pool.Key.Cluster == cluster && retire(pool))
            {
                pool.Retire();
                _pools.TryRemove(KeyValuePair.Create(pool.Key, pool));
            }
        }
    }
}
