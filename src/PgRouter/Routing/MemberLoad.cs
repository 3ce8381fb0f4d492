using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace PgRouter.Routing;

/// <summary>Client sessions per member, counted as they attach and detach (never per message).</summary>
internal sealed class MemberLoad
{
    private readonly ConcurrentDictionary<(string Cluster, string Member), StrongBox<int>> _sessions = new();

    public int Sessions(string cluster, string member) =>
        _sessions.TryGetValue((cluster, member), out var count) ? Volatile.Read(ref count.Value) : 0;

    public void Attach(string cluster, string member) => Interlocked.Increment(ref Counter(cluster, member).Value);

    public void Detach(string cluster, string member) => Interlocked.Decrement(ref Counter(cluster, member).Value);

    private StrongBox<int> Counter(string cluster, string member) =>
        _sessions.GetOrAdd((cluster, member), static _ => new StrongBox<int>());
}
