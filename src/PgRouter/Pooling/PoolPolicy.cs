using System.Collections.Frozen;
using PgRouter.Configuration;

namespace PgRouter.Pooling;

/// <summary>Which pool mode and limits a client gets: the database entry's, else the listener's mode, else the global ones.</summary>
internal sealed class PoolPolicy(PoolingOptions global, TimeSpan connectTimeout, IReadOnlyDictionary<string, DatabaseOptions> databases)
{
    private readonly FrozenDictionary<string, DatabaseOptions> _databases = databases.ToFrozenDictionary();

    /// <param name="database">The name the client asked for (a "*" entry covers the rest).</param>
    public (PoolMode Mode, PoolSettings Settings) For(PoolMode? listener, string database)
    {
        _databases.TryGetValue(database, out var entry);
        entry ??= _databases.GetValueOrDefault("*");
        var own = entry?.Pool;
        var mode = PoolModes.TryParse(own?.Mode, out var databaseMode) ? databaseMode
            : listener ?? (PoolModes.TryParse(global.Mode, out var configured) ? configured : PoolMode.Transaction);
        var settings = new PoolSettings(
            own?.Size ?? global.Size,
            own?.MinIdle ?? global.MinIdle,
            own?.IdleTimeout ?? global.IdleTimeout,
            own?.Lifetime ?? global.Lifetime,
            own?.QueueTimeout ?? global.QueueTimeout,
            own?.ConnectTimeout ?? global.ConnectTimeout ?? connectTimeout);
        return (mode, settings);
    }
}
