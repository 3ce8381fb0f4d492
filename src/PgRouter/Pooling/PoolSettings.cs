namespace PgRouter.Pooling;

/// <summary>One pool's limits and timers.</summary>
/// <param name="Size">Server connections at most, idle and in use.</param>
/// <param name="MinIdle">Idle connections kept open once the pool knows how to log in.</param>
/// <param name="IdleTimeout">An idle connection older than this (idle) is closed.</param>
/// <param name="Lifetime">A connection older than this is closed when it is next idle.</param>
/// <param name="QueueTimeout">A client waits this long for a connection before it gets 53300.</param>
/// <param name="ConnectTimeout">Opening and logging in a server connection may take this long.</param>
internal sealed record PoolSettings(int Size, int MinIdle, TimeSpan IdleTimeout, TimeSpan Lifetime, TimeSpan QueueTimeout, TimeSpan ConnectTimeout);
