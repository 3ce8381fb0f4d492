using System.Collections.Concurrent;

namespace PgRouter.Pooling;

/// <summary>
/// Statements some server has parsed without error, with their result shape, per cluster,
/// database, user and session settings (all members of a cluster share one schema). A client that
/// prepares one of them between transactions is answered without a server: the statement is parsed
/// on a server when the client first uses it, and checked against this shape then, so a DDL in
/// between fails the client's Bind as it would on PostgreSQL. Without this, a client that prepares
/// synchronously while its other connections hold every server (pgbench -M prepared) would wait
/// for itself.
/// </summary>
internal sealed class ParsedStatements
{
    /// <summary>A bound on memory: past it the set starts again (statements are then confirmed by a server once more).</summary>
    private const int Capacity = 100_000;

    private readonly ConcurrentDictionary<Key, int> _parsed = new();

    public bool TryGetShape(string cluster, string database, string user, ulong settings, string serverName, out int shape) =>
        _parsed.TryGetValue(new Key(cluster, database, user, settings, serverName), out shape);

    public void Add(string cluster, string database, string user, ulong settings, string serverName, int shape)
    {
        if (_parsed.Count >= Capacity)
        {
            _parsed.Clear();
        }
        _parsed[new Key(cluster, database, user, settings, serverName)] = shape;
    }

    private readonly record struct Key(string Cluster, string Database, string User, ulong Settings, string ServerName);
}
