using System.Collections.Frozen;
using PgRouter.Configuration;

namespace PgRouter.Pooling;

/// <summary>Which pool mode and limits a client gets: the database entry's, else the listener's mode, else the global ones.</summary>
internal sealed class PoolPolicy(PoolingOptions global, IReadOnlyDictionary<string, DatabaseOptions> databases)
{
    private readonly FrozenDictionary<string, DatabaseOptions> _databases = databases.ToFrozenDictionary();

    /// <param name="database">The name the client asked for (a "*" entry covers the rest).</param>
    public (PoolMode Mode, PoolSettings Settings) For(PoolMode? listener, string database)
    {
        _databases.TryGetValue(database, out var entry);
        entry ??= _databases.GetValueOrDefault("*");
        var mode = PoolModes.TryParse(entry?.PoolMode, out var own) ? own
            : listener ?? (PoolModes.TryParse(global.Mode, out var configured) ? configured : PoolMode.Transaction);
        var settings = new PoolSettings(entry?.PoolSize ?? global.Size, global.MinIdle, global.IdleTimeout, global.Lifetime, global.QueueTimeout);
        return (mode, settings);
    }
}
