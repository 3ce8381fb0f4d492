using System.Collections.Frozen;

namespace PgRouter.Routing;

/// <summary>Where one database name leads: a cluster, the database's real name there, and optionally a target.</summary>
internal sealed record DatabaseEntry(string Cluster, string? Database, RouteTarget? Target);

/// <summary>Where a resolved client database goes.</summary>
internal sealed record DatabaseRoute(string Cluster, string Database, RouteTarget? Target);

/// <summary>
/// PgBouncer's [databases] section: the database name a client asks for maps to a cluster and the
/// real name; "*" catches every other name and keeps it.
/// </summary>
internal sealed class DatabaseMap(IReadOnlyDictionary<string, DatabaseEntry> entries)
{
    public const string Wildcard = "*";

    private readonly FrozenDictionary<string, DatabaseEntry> _entries = entries.ToFrozenDictionary();

    public bool TryResolve(string database, out DatabaseRoute route)
    {
        if (_entries.TryGetValue(database, out var entry) || _entries.TryGetValue(Wildcard, out entry))
        {
            route = new DatabaseRoute(entry.Cluster, entry.Database ?? database, entry.Target);
            return true;
        }
        route = null!;
        return false;
    }
}
