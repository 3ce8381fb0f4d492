using System.Collections.Immutable;
using PgRouter.Protocol;
using PgRouter.Servers;
using PgRouter.Topology;

namespace PgRouter.Pooling;

/// <summary>
/// The server connections of one (member, database, user): idle ones on a stack (the most recently
/// used first, its caches warm), a count of all, and clients waiting in order when all are busy.
/// The lock guards only these counters and lists, never I/O.
/// </summary>
internal sealed partial class ServerPool(PoolKey key, PoolSettings settings, StartupParameters loginParameters, ServerFactory factory, TimeProvider time, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly Stack<PooledServer> _idle = new();
    private readonly LinkedList<TaskCompletionSource<PooledServer?>> _waiters = new();
    private int _total;
    private bool _retired;

    public PoolKey Key => key;

    public PoolSettings Settings => settings;

    /// <summary>The parameters every connection of this pool logs in with (user and database, or a session's exact ones).</summary>
    public StartupParameters LoginParameters => loginParameters;

    /// <summary>The latest credentials a client of this pool brought, for connections opened in the background.</summary>
    public ServerCredentials? Credentials { get; set; }

    /// <summary>What the latest server of this pool reported at login, for clients that log in without a server.</summary>
    public ImmutableDictionary<string, string>? Parameters { get; set; }

    /// <summary>The member as last routed to, for connections opened in the background.</summary>
    public MemberView? Member { get; set; }

    public bool IsRetired => Volatile.Read(ref _retired);

    public (int Total, int Idle, int Waiting) Counts()
    {
        lock (_lock)
        {
            return (_total, _idle.Count, _waiters.Count);
        }
    }

    /// <summary>The server process ids of the idle connections, for operators.</summary>
    public List<int> IdleProcessIds()
    {
        lock (_lock)
        {
            return [.. _idle.Where(s => s.BackendKey is not null).Select(s => s.BackendKey!.Value.ProcessId)];
        }
    }

    /// <summary>An idle connection, a new one if the pool has room, or the next one returned (up to the queue timeout).</summary>
    public async ValueTask<Acquisition> AcquireAsync(MemberView member, ServerCredentials credentials, bool expectPrimary, CancellationToken stopping)
    {
        Credentials = credentials;
        Member = member;
        TaskCompletionSource<PooledServer?>? waiter = null;
        LinkedListNode<TaskCompletionSource<PooledServer?>>? node = null;
        lock (_lock)
        {
            if (_retired)
            {
                return Acquisition.Failed(AcquireFailure.Retired);
            }
            while (_idle.TryPop(out var idle))
            {
                if (!idle.IsClosed)
                {
                    return Acquisition.Got(idle);
                }
            }
            if (_total < settings.Size)
            {
                _total++;
            }
            else
            {
                // Completed inline by Return, outside its lock: the waiting client goes on on the thread that freed the server.
                waiter = new TaskCompletionSource<PooledServer?>();
                node = _waiters.AddLast(waiter);
            }
        }

        if (waiter is null)
        {
            var created = await factory.CreateAsync(this, member, credentials, expectPrimary).ConfigureAwait(false);
            if (created.Server is null)
            {
                Released();
            }
            else
            {
                LogOpened(key.ToString());
            }
            return created;
        }

        try
        {
            var server = await waiter.Task.WaitAsync(settings.QueueTimeout, time, stopping).ConfigureAwait(false);
            return server is null ? Acquisition.Failed(AcquireFailure.Retired) : Acquisition.Got(server);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            bool handedOver;
            lock (_lock)
            {
                handedOver = node!.List is null;
                if (!handedOver)
                {
                    _waiters.Remove(node);
                }
            }
            // Taken off the queue just as the wait ended: a server (or null) is on its way; give it back.
            if (handedOver && await waiter.Task.ConfigureAwait(false) is { } late)
            {
                Return(late);
            }
            return Acquisition.Failed(AcquireFailure.Timeout, new PgError(SqlState.TooManyConnections,
                $"no server connection free in pool {key} within {settings.QueueTimeout.TotalSeconds:0.#} s",
                $"All {settings.Size} connections of the pool are in use.", "Raise the pool size or shorten the transactions."));
        }
    }

    /// <summary>A client is done with a connection: to the next waiter, to the idle stack, or closed if it may not be lent again.</summary>
    public void Return(PooledServer server)
    {
        if (server.IsClosed)
        {
            return;
        }
        if (server.Tainted || IsRetired || time.GetElapsedTime(server.CreatedAt) > settings.Lifetime)
        {
            _ = server.CloseAsync().AsTask();
            return;
        }
        TaskCompletionSource<PooledServer?> waiter;
        lock (_lock)
        {
            if (_waiters.First is not { } first)
            {
                server.IdleSince = time.GetTimestamp();
                _idle.Push(server);
                return;
            }
            _waiters.RemoveFirst();
            waiter = first.Value;
        }
        waiter.SetResult(server);
    }

    /// <summary>A connection's read loop ended: it no longer counts, and a waiting client may get a new one.</summary>
    public void Forget(PooledServer server)
    {
        LogClosed(key.ToString());
        Released();
    }

    /// <summary>The member lost the role this pool served: idle connections close now, busy ones when returned.</summary>
    public void Retire()
    {
        List<PooledServer> idle;
        List<TaskCompletionSource<PooledServer?>> waiters;
        lock (_lock)
        {
            if (_retired)
            {
                return;
            }
            _retired = true;
            idle = [.. _idle];
            _idle.Clear();
            waiters = [.. _waiters];
            _waiters.Clear();
        }
        LogRetired(key.ToString(), idle.Count);
        foreach (var server in idle)
        {
            _ = server.CloseAsync().AsTask();
        }
        foreach (var waiter in waiters)
        {
            waiter.TrySetResult(null);
        }
    }

    /// <summary>Closes idle connections past their idle timeout or lifetime; the janitor calls it.</summary>
    public void CloseExpired()
    {
        var expired = new List<PooledServer>();
        lock (_lock)
        {
            if (_idle.Count == 0)
            {
                return;
            }
            var keep = new List<PooledServer>(_idle.Count);
            foreach (var server in _idle)
            {
                bool old = time.GetElapsedTime(server.CreatedAt) > settings.Lifetime;
                bool unused = time.GetElapsedTime(server.IdleSince) > settings.IdleTimeout && _idle.Count - expired.Count > settings.MinIdle;
                (old || unused ? expired : keep).Add(server);
            }
            _idle.Clear();
            // The stack enumerates from the top: push back bottom first to keep the order.
            for (int i = keep.Count - 1; i >= 0; i--)
            {
                _idle.Push(keep[i]);
            }
        }
        foreach (var server in expired)
        {
            _ = server.CloseAsync().AsTask();
        }
    }

    /// <summary>Opens connections up to MinIdle when the pool knows where and as whom; the janitor calls it.</summary>
    public async Task TopUpAsync()
    {
        while (Credentials is { } credentials && Member is { } member && !IsRetired)
        {
            lock (_lock)
            {
                if (_idle.Count >= settings.MinIdle || _total >= settings.Size)
                {
                    return;
                }
                _total++;
            }
            var created = await factory.CreateAsync(this, member, credentials, expectPrimary: false).ConfigureAwait(false);
            if (created.Server is null)
            {
                Released();
                return;
            }
            Return(created.Server);
        }
    }

    /// <summary>One connection fewer: if clients wait and the pool may still open, open one for the first of them.</summary>
    private void Released()
    {
        TaskCompletionSource<PooledServer?>? first;
        lock (_lock)
        {
            _total--;
            first = _waiters.First?.Value;
            if (first is null || _retired || Credentials is null || Member is null)
            {
                return;
            }
            _total++;
        }
        _ = OpenForWaiterAsync();
    }

    private async Task OpenForWaiterAsync()
    {
        var created = await factory.CreateAsync(this, Member!, Credentials!, expectPrimary: false).ConfigureAwait(false);
        if (created.Server is null)
        {
            Released();
            return;
        }
        LogOpened(key.ToString());
        Return(created.Server);
    }

    [LoggerMessage(900, LogLevel.Debug, "pool {Pool}: server connection opened")]
    private partial void LogOpened(string pool);

    [LoggerMessage(901, LogLevel.Debug, "pool {Pool}: server connection closed")]
    private partial void LogClosed(string pool);

    [LoggerMessage(902, LogLevel.Information, "pool {Pool}: retired, {Idle} idle connections closed, the rest close when returned")]
    private partial void LogRetired(string pool, int idle);
}
