namespace PgRouter.Monitoring;

/// <summary>Lets anyone cut a periodic wait short; several wake-ups before the waiter runs count as one.</summary>
internal sealed class WakeSignal
{
    private TaskCompletionSource _signal = NewSignal();

    public Task Task => Volatile.Read(ref _signal).Task;

    public bool IsSet => Task.IsCompleted;

    public void Set() => Volatile.Read(ref _signal).TrySetResult();

    /// <summary>Called by the waiter once it acted on a wake-up.</summary>
    public void Reset()
    {
        if (IsSet)
        {
            Volatile.Write(ref _signal, NewSignal());
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
