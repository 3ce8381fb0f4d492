using System.Collections.Concurrent;

namespace PgRouter.Pooling;

/// <summary>
/// Statements some server has parsed without error, per cluster, database, user and session
/// settings (all members of a cluster share one schema). A client that prepares one of them
/// between transactions is answered without a server: the statement is parsed on a server when
/// the client first uses it, which is what PostgreSQL itself does with a statement prepared before
/// later DDL. Without this, a client that prepares synchronously while its other connections hold
/// every server (pgbench -M prepared) would wait for itself.
/// </summary>
internal sealed class ParsedStatements
{
    /// <summary>A bound on memory: past it the set starts again (statements are then confirmed by a server once more).</summary>
    private const int Capacity = 100_000;

    private readonly ConcurrentDictionary<Key, byte> _parsed = new();

    public bool Contains(string cluster, string database, string user, ulong settings, string serverName) =>
        _parsed.ContainsKey(new Key(cluster, database, user, settings, serverName));

    public void Add(string cluster, string database, string user, ulong settings, string serverName)
    {
        if (_parsed.Count >= Capacity)
        {
            _parsed.Clear();
        }
        _parsed.TryAdd(new Key(cluster, database, user, settings, serverName), 0);
    }

    private readonly record struct Key(string Cluster, string Database, string User, ulong Settings, string ServerName);
}
