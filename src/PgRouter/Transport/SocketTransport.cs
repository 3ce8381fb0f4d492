using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace PgRouter.Transport;

/// <summary>
/// One TCP socket: a receive loop fills <see cref="Input"/>, and sends go straight from the
/// caller's buffers to the socket, so forwarded bytes are never copied into an output pipe.
/// With inline schedulers and inline socket completions a message travels from one socket to the
/// other on the I/O thread that received it.
/// </summary>
internal sealed class SocketTransport : ITransport
{
    /// <summary>Shared by both transports: inline scheduling keeps a message on the thread that received it.</summary>
    public static readonly PipeOptions InputOptions = new(
        pool: MemoryPool<byte>.Shared,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 1024 * 1024,
        resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: 8192,
        useSynchronizationContext: false);

    private readonly Socket _socket;
    private readonly Pipe _input = new(InputOptions);
    private Task _receiving = Task.CompletedTask;
    private int _aborted;

    public SocketTransport(Socket socket)
    {
        _socket = socket;
        RemoteAddress = Describe(socket.RemoteEndPoint);
    }

    public PipeReader Input => _input.Reader;

    /// <summary>The peer as host:port, for logs.</summary>
    public string RemoteAddress { get; }

    /// <summary>Why the socket failed, when it did (a reset, a timeout); null after a clean end of stream.</summary>
    public SocketError? Error { get; private set; }

    public void Start() => _receiving = ReceiveAsync();

    public async ValueTask<bool> SendAsync(ReadOnlySequence<byte> data)
    {
        if (data.IsSingleSegment)
        {
            return await SendAsync(data.First).ConfigureAwait(false);
        }
        foreach (var segment in data)
        {
            if (!await SendAsync(segment).ConfigureAwait(false))
            {
                return false;
            }
        }
        return true;
    }

    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> data)
    {
        try
        {
            while (!data.IsEmpty)
            {
                int sent = await _socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
                data = data[sent..];
            }
            return true;
        }
        catch (SocketException e)
        {
            Error ??= e.SocketErrorCode;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Drops the connection at once; the receive loop ends and readers see the end of input.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            _socket.Dispose();
        }
    }

    /// <summary>
    /// Sends FIN after what was already sent and waits briefly for the peer to close, so a final
    /// ErrorResponse is not lost to a reset caused by unread input.
    /// </summary>
    public async ValueTask CloseAsync(TimeSpan linger)
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            await _receiving.WaitAsync(linger).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or TimeoutException)
        {
        }
        Abort();
    }

    public async ValueTask DisposeAsync()
    {
        Abort();
        // Completing the reader first releases a receive loop held by backpressure.
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
        await _receiving.ConfigureAwait(false);
    }

    private async Task ReceiveAsync()
    {
        var writer = _input.Writer;
        try
        {
            while (true)
            {
                var buffer = writer.GetMemory();
                int received = await _socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }
                writer.Advance(received);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (SocketException e)
        {
            Error ??= e.SocketErrorCode;
        }
        catch (ObjectDisposedException)
        {
        }
        await writer.CompleteAsync().ConfigureAwait(false);
    }

    public static string Describe(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint ip when ip.Address.IsIPv4MappedToIPv6 => $"{ip.Address.MapToIPv4()}:{ip.Port}",
        IPEndPoint ip => ip.ToString(),
        null => "unknown",
        _ => endPoint.ToString() ?? "unknown",
    };
}
