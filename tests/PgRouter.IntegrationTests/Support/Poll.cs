namespace PgRouter.IntegrationTests.Support;

/// <summary>Waiting on real processes: check a condition repeatedly until it holds or a deadline passes.</summary>
internal static class Poll
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(50);

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0} s waiting for {what}");
            }
            await Task.Delay(Pause);
        }
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, what);

    /// <summary>Polls for a value; the last failure's message explains a timeout.</summary>
    public static async Task<T> ForAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what) where T : class
    {
        T? found = null;
        await UntilAsync(async () => (found = await probe()) is not null, timeout, what);
        return found!;
    }
}
