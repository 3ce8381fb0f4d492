using System.Collections.Concurrent;

namespace PgRouter.Authentication;

/// <summary>
/// Counts failed logins per client address over a sliding window; an address over the limit is
/// refused before any password is checked, so a guesser cannot hammer PgRouter or the servers.
/// </summary>
internal sealed class LoginRateLimiter(int maxFailures, TimeSpan window, TimeProvider time)
{
    /// <summary>Past this many tracked addresses, the expired ones are swept on the next failure.</summary>
    private const int SweepThreshold = 10_000;

    private readonly ConcurrentDictionary<string, Failures> _byAddress = new();

    /// <summary>True when the address may try; otherwise how long until it may.</summary>
    public bool Allows(string address, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (maxFailures <= 0 || !_byAddress.TryGetValue(address, out var failures))
        {
            return true;
        }
        lock (failures)
        {
            failures.Expire(time.GetUtcNow() - window);
            if (failures.Times.Count < maxFailures)
            {
                return true;
            }
            retryAfter = failures.Times.Peek() + window - time.GetUtcNow();
            return false;
        }
    }

    public void RecordFailure(string address)
    {
        if (maxFailures <= 0)
        {
            return;
        }
        if (_byAddress.Count > SweepThreshold)
        {
            Sweep();
        }
        var failures = _byAddress.GetOrAdd(address, _ => new Failures());
        lock (failures)
        {
            failures.Times.Enqueue(time.GetUtcNow());
            while (failures.Times.Count > maxFailures)
            {
                failures.Times.Dequeue();
            }
        }
    }

    private void Sweep()
    {
        var horizon = time.GetUtcNow() - window;
        foreach (var (address, failures) in _byAddress)
        {
            lock (failures)
            {
                failures.Expire(horizon);
                if (failures.Times.Count == 0)
                {
                    _byAddress.TryRemove(KeyValuePair.Create(address, failures));
                }
            }
        }
    }

    private sealed class Failures
    {
        public Queue<DateTimeOffset> Times { get; } = new();

        public void Expire(DateTimeOffset horizon)
        {
            while (Times.Count > 0 && Times.Peek() < horizon)
            {
                Times.Dequeue();
            }
        }
    }
}
