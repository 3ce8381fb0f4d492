using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace PgRouter.Transport;

/// <summary>
/// A connection carried by a stream, in practice TLS (SslStream over the socket): a receive loop
/// decrypts into <see cref="Input"/>, sends encrypt straight from the caller's buffers.
/// </summary>
internal sealed class StreamTransport(Stream stream, Socket socket) : ITransport
{
    private readonly Pipe _input = new(SocketTransport.InputOptions);
    private Task _receiving = Task.CompletedTask;
    private int _aborted;

    public PipeReader Input => _input.Reader;

    public string RemoteAddress { get; } = SocketTransport.Describe(socket.RemoteEndPoint);

    public SocketError? Error { get; private set; }

    public void Start() => _receiving = ReceiveAsync();

    public async ValueTask<bool> SendAsync(ReadOnlySequence<byte> data)
    {
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
            await stream.WriteAsync(data).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            Error ??= (e.InnerException as SocketException)?.SocketErrorCode ?? SocketError.ConnectionReset;
            return false;
        }
    }

    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            socket.Dispose();
            stream.Dispose();
        }
    }

    public async ValueTask CloseAsync(TimeSpan linger)
    {
        try
        {
            if (stream is System.Net.Security.SslStream tls)
            {
                await tls.ShutdownAsync().WaitAsync(linger).ConfigureAwait(false);
            }
            socket.Shutdown(SocketShutdown.Send);
            await _receiving.WaitAsync(linger).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or TimeoutException or InvalidOperationException)
        {
        }
        Abort();
    }

    public async ValueTask DisposeAsync()
    {
        Abort();
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
                int received = await stream.ReadAsync(writer.GetMemory()).ConfigureAwait(false);
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
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            Error ??= (e.InnerException as SocketException)?.SocketErrorCode ?? SocketError.ConnectionReset;
        }
        await writer.CompleteAsync().ConfigureAwait(false);
    }
}
