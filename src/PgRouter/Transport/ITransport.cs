using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace PgRouter.Transport;

/// <summary>
/// A connection's bytes: what arrives is read from <see cref="Input"/>; what goes out is sent as it
/// is. Plain TCP (<see cref="SocketTransport"/>) or TLS (<see cref="StreamTransport"/>).
/// </summary>
internal interface ITransport : IAsyncDisposable
{
    PipeReader Input { get; }

    /// <summary>The peer as host:port, for logs.</summary>
    string RemoteAddress { get; }

    /// <summary>Why the connection failed, when it did (a reset, a timeout); null after a clean end.</summary>
    SocketError? Error { get; }

    void Start();

    ValueTask<bool> SendAsync(ReadOnlySequence<byte> data);

    ValueTask<bool> SendAsync(ReadOnlyMemory<byte> data);

    /// <summary>Drops the connection at once; readers see the end of input.</summary>
    void Abort();

    /// <summary>Ends the connection after what was sent, waiting briefly for the peer to close.</summary>
    ValueTask CloseAsync(TimeSpan linger);
}
