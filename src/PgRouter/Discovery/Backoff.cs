namespace PgRouter.Discovery;

/// <summary>Exponential backoff with jitter between reconnect attempts: 100 ms doubling up to a ceiling.</summary>
internal sealed class Backoff(TimeSpan ceiling)
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(100);
    private TimeSpan _next = TimeSpan.Zero;

    /// <summary>The first retry is immediate: a broken stream usually just needs a new one.</summary>
    public TimeSpan Next()
    {
        var delay = _next;
        _next = _next == TimeSpan.Zero ? Initial : TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, ceiling.Ticks));
        return delay * (0.8 + (Random.Shared.NextDouble() * 0.4));
    }

    public void Reset() => _next = TimeSpan.Zero;
}
