using System.Buffers;

namespace PgRouter.Pooling;

/// <summary>The client session a pooled server connection is lent to; its read loop hands the server's bytes over.</summary>
internal interface IServerSession
{
    /// <summary>Handles what the server sent: how far it was used, and whether the rest was looked at (wait for more) or not (read on at once).</summary>
    ValueTask<(SequencePosition Consumed, bool ExaminedAll)> OnServerDataAsync(PooledServer server, ReadOnlySequence<byte> buffer);

    /// <summary>The connection broke while lent to this session.</summary>
    ValueTask OnServerLostAsync(PooledServer server);
}
