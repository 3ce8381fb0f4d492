using System.Collections.Concurrent;

namespace PgRouter.Connections;

/// <summary>
/// The relays running now, so that PgRouter can end them all when it stops, and the signal that
/// tells sessions still being set up not to wait any longer.
/// </summary>
internal sealed class ActiveSessions(TimeProvider time)
{
    private readonly ConcurrentDictionary<SessionRelay, TaskCompletionSource> _relays = new();
    private readonly CancellationTokenSource _stopping = new();

    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Runs a relay as one of the active sessions; one that starts after the stop ends at once.</summary>
    public async Task<RelayEnd> RunAsync(SessionRelay relay, byte[]? startupMessage)
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _relays.TryAdd(relay, ended);
        if (_stopping.IsCancellationRequested)
        {
            relay.Terminate(ServerSelector.ShuttingDown);
        }
        try
        {
            return await relay.RunAsync(startupMessage).ConfigureAwait(false);
        }
        finally
        {
            _relays.TryRemove(relay, out _);
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
        foreach (var relay in _relays.Keys)
        {
            relay.Terminate(ServerSelector.ShuttingDown);
        }
        try
        {
            await Task.WhenAll(_relays.Values.Select(ended => ended.Task)).WaitAsync(grace, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }
}
