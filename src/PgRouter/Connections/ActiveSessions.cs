using System.Collections.Concurrent;

namespace PgRouter.Connections;

/// <summary>
/// The relays running now, so that PgRouter can end them all when it stops, and the signal that
/// tells sessions still being set up not to wait any longer.
/// </summary>
internal sealed class ActiveSessions(TimeProvider time)
{
    private readonly ConcurrentDictionary<IActiveSession, TaskCompletionSource> _sessions = new();
    private readonly CancellationTokenSource _stopping = new();

    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Runs a session as one of the active ones; one that starts after the stop ends at once.</summary>
    public async Task<RelayEnd> RunAsync(IActiveSession session, Func<Task<RelayEnd>> run)
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _sessions.TryAdd(session, ended);
        if (_stopping.IsCancellationRequested)
        {
            session.Stop(ServerSelector.ShuttingDown);
        }
        try
        {
            return await run().ConfigureAwait(false);
        }
        finally
        {
            _sessions.TryRemove(session, out _);
            ended.SetResult();
        }
    }

    /// <summary>
    /// Ends every session with 57P01, as PostgreSQL does on a fast shutdown, and waits (bounded)
    /// for them to finish.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var session in _sessions.Keys)
        {
            session.Stop(ServerSelector.ShuttingDown);
        }
        try
        {
            await Task.WhenAll(_sessions.Values.Select(ended => ended.Task)).WaitAsync(grace, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }
}
