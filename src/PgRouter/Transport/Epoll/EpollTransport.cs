using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PgRouter.Transport.Epoll;

/// <summary>
/// A plain TCP connection on an <see cref="EventLoop"/>. The loop's thread receives into
/// <see cref="Input"/> and runs the reader inline; sends are one non-blocking send() from the
/// caller's buffers, and wait for the loop only when the socket buffer is full. The socket must
/// never see a .NET async operation: .NET would watch it too, and wake for every message.
/// </summary>
internal sealed class EpollTransport : ITransport
{
    private const int ReceiveSizeHint = 4096;

    /// <summary>Receives (of up to a pipe segment, 8 KB) before a streaming connection lets the loop serve others.</summary>
    private const int ReceivesPerTurn = 16;

    private readonly Socket _socket;
    private readonly SafeHandle _handle;
    private readonly int _fd;
    private readonly EventLoop _loop;
    private readonly Pipe _input = new(SocketTransport.InputOptions);
    private readonly TaskCompletionSource _inputEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _writableLock = new();
    private TaskCompletionSource<bool>? _writable;
    private ulong _id;
    private bool _started;
    private bool _paused;
    private bool _flushed;
    private bool _ended;
    private int _aborted;
    private bool _detaching;
    private int _disposedSocket;

    private EpollTransport(Socket socket, string remoteAddress)
    {
        _socket = socket;
        _handle = socket.SafeHandle;
        _fd = (int)_handle.DangerousGetHandle();
        _loop = EventLoop.Next();
        RemoteAddress = remoteAddress;
    }

    public PipeReader Input => _input.Reader;

    public string RemoteAddress { get; }

    public SocketError? Error { get; private set; }

    /// <summary>Takes over an accepted (or otherwise connected) socket that no .NET async operation has touched.</summary>
    public static EpollTransport Adopt(Socket socket)
    {
        var transport = new EpollTransport(socket, SocketTransport.Describe(socket.RemoteEndPoint));
        transport._id = transport._loop.Add(transport._fd, transport);
        return transport;
    }

    /// <summary>Connects without .NET's socket engine: a non-blocking connect, completed when the loop sees the socket writable.</summary>
    public static async Task<EpollTransport> ConnectAsync(string host, int port, Action<Socket> configure, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
            EpollTransport? transport = null;
            try
            {
                configure(socket);
                transport = new EpollTransport(socket, address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]:{port}" : $"{address}:{port}");
                var writable = transport.ExpectWritable();
                bool connecting = false;
                try
                {
                    socket.Connect(new IPEndPoint(address, port));
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                    connecting = true;
                }
                // Watched only now: an unconnected socket already counts as writable.
                transport._id = transport._loop.Add(transport._fd, transport);
                if (connecting)
                {
                    await writable.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                // .NET reports SO_ERROR as a SocketError already.
                if (socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error) is int error && error != 0)
                {
                    throw new SocketException(error);
                }
                return transport;
            }
            catch (SocketException e)
            {
                last = e;
                await Discard(transport, socket).ConfigureAwait(false);
            }
            catch
            {
                await Discard(transport, socket).ConfigureAwait(false);
                throw;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);

        static async ValueTask Discard(EpollTransport? transport, Socket socket)
        {
            if (transport is null)
            {
                socket.Dispose();
            }
            else
            {
                await transport.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public void Start()
    {
        if (Volatile.Read(ref _started))
        {
            return;
        }
        // Bytes that arrived before now raised no edge the transport acted on: read them on the loop.
        Volatile.Write(ref _started, true);
        _loop.Post(this);
    }

    public ValueTask<bool> SendAsync(ReadOnlySequence<byte> data)
    {
        if (data.IsSingleSegment)
        {
            return SendAsync(data.First);
        }
        return SendSegmentsAsync(data);
    }

    public ValueTask<bool> SendAsync(ReadOnlyMemory<byte> data)
    {
        // The usual case: the whole message fits in the socket buffer, no await.
        int sent = TrySend(data.Span, out bool failed);
        if (failed)
        {
            return new ValueTask<bool>(false);
        }
        return sent == data.Length ? new ValueTask<bool>(true) : SendRestAsync(data[sent..]);
    }

    /// <summary>
    /// Gives the socket back, for a TLS stream of .NET's to carry: the loop stops watching it, and
    /// the bytes received but not read yet are returned (a direct TLS handshake starts inside them).
    /// </summary>
    public async Task<byte[]> DetachAsync()
    {
        Volatile.Write(ref _detaching, true);
        _loop.Post(this);
        await _inputEnded.Task.ConfigureAwait(false);
        var reader = _input.Reader;
        byte[] unread = reader.TryRead(out var result) ? result.Buffer.ToArray() : [];
        await reader.CompleteAsync().ConfigureAwait(false);
        return unread;
    }

    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }
        if (_id == 0)
        {
            // Never watched by a loop (a connect that failed early): nobody else touches the pipe.
            DisposeSocket();
            _input.Writer.Complete();
            _inputEnded.TrySetResult();
            return;
        }
        // The loop sees the hang-up and ends the input on its own thread, the pipe writer's only user.
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        _loop.Post(this);
    }

    public async ValueTask CloseAsync(TimeSpan linger)
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            await _inputEnded.Task.WaitAsync(linger).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or TimeoutException)
        {
        }
        Abort();
    }

    public async ValueTask DisposeAsync()
    {
        Abort();
        // Completing the reader releases a receive held by backpressure.
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
        await _inputEnded.Task.ConfigureAwait(false);
        DisposeSocket();
    }

    /// <summary>Aborted or handed back: the input ends at the loop's next look.</summary>
    private bool Stopping => Volatile.Read(ref _aborted) != 0 || Volatile.Read(ref _detaching);

    /// <summary>On the loop's thread: the socket is readable, writable or hung up.</summary>
    public void OnEvents(uint events)
    {
        if ((events & (Native.EpollOut | Native.EpollErr | Native.EpollHup)) != 0 && _writable is not null)
        {
            TaskCompletionSource<bool>? writable;
            lock (_writableLock)
            {
                writable = _writable;
                _writable = null;
            }
            writable?.TrySetResult(true);
        }
        if (Volatile.Read(ref _started) && (events & (Native.EpollIn | Native.EpollRdHup | Native.EpollHup | Native.EpollErr)) != 0)
        {
            Receive();
        }
    }

    /// <summary>On the loop's thread: started, aborted or detached, resumed after backpressure, or back in line after its turn.</summary>
    public void OnPosted()
    {
        if (Stopping)
        {
            EndInput(null);
            return;
        }
        if (_paused && Volatile.Read(ref _flushed))
        {
            _paused = false;
            _flushed = false;
        }
        Receive();
    }

    /// <summary>
    /// Reads until a short read (edge-triggered: nothing is left behind), until the reader holds back,
    /// or until its turn is used up: a connection that streams gets back in line behind the others.
    /// </summary>
    private void Receive()
    {
        var writer = _input.Writer;
        int turn = ReceivesPerTurn;
        while (!_ended && !_paused)
        {
            if (--turn < 0)
            {
                _loop.Post(this);
                return;
            }
            if (Stopping)
            {
                EndInput(null);
                return;
            }
            var memory = writer.GetMemory(ReceiveSizeHint);
            int received = Recv(memory.Span, out int errno);
            if (received > 0)
            {
                writer.Advance(received);
                var flush = writer.FlushAsync();
                if (!flush.IsCompleted)
                {
                    _paused = true;
                    ResumeAfter(flush);
                    return;
                }
                if (flush.Result.IsCompleted || flush.Result.IsCanceled)
                {
                    EndInput(null);
                    return;
                }
                if (received < memory.Length)
                {
                    return;
                }
            }
            else if (received == 0)
            {
                EndInput(null);
                return;
            }
            else if (errno == Native.EAgain)
            {
                return;
            }
            else if (errno != Native.EIntr)
            {
                EndInput(ErrnoToSocketError(errno));
                return;
            }
        }
    }

    private async void ResumeAfter(ValueTask<FlushResult> flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The reader failed: the loop ends the input when it sees the abort.
            Abort();
        }
        Volatile.Write(ref _flushed, true);
        _loop.Post(this);
    }

    private void EndInput(SocketError? error)
    {
        if (_ended)
        {
            return;
        }
        _ended = true;
        if (error is { } e)
        {
            Error ??= e;
        }
        _loop.Remove(_fd, _id);
        _input.Writer.Complete();
        // A sender waiting for room retries, and learns that the connection is gone.
        TaskCompletionSource<bool>? writable;
        lock (_writableLock)
        {
            writable = _writable;
            _writable = null;
        }
        writable?.TrySetResult(true);
        if (Volatile.Read(ref _aborted) != 0)
        {
            DisposeSocket();
        }
        _inputEnded.TrySetResult();
    }

    private async ValueTask<bool> SendSegmentsAsync(ReadOnlySequence<byte> data)
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

    private async ValueTask<bool> SendRestAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            // Armed before the retry, so a writable edge between the two is not missed.
            var writable = ExpectWritable();
            int sent = TrySend(data.Span, out bool failed);
            if (failed)
            {
                return false;
            }
            data = data[sent..];
            if (sent == 0 && !await writable.ConfigureAwait(false))
            {
                return false;
            }
        }
        return true;
    }

    private Task<bool> ExpectWritable()
    {
        lock (_writableLock)
        {
            _writable ??= new TaskCompletionSource<bool>();
            return _writable.Task;
        }
    }

    /// <summary>Bytes sent (0 when the socket buffer is full); failed when the connection is gone.</summary>
    private unsafe int TrySend(ReadOnlySpan<byte> data, out bool failed)
    {
        int total = 0;
        failed = false;
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            fixed (byte* bytes = data)
            {
                while (total < data.Length)
                {
                    nint sent = Native.Send(_fd, bytes + total, (nuint)(data.Length - total), Native.MsgDontWait | Native.MsgNoSignal);
                    if (sent >= 0)
                    {
                        total += (int)sent;
                        continue;
                    }
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Native.EIntr)
                    {
                        continue;
                    }
                    if (errno != Native.EAgain)
                    {
                        Error ??= ErrnoToSocketError(errno);
                        failed = true;
                    }
                    break;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            failed = true;
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
        return total;
    }

    private unsafe int Recv(Span<byte> buffer, out int errno)
    {
        errno = 0;
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            fixed (byte* bytes = buffer)
            {
                nint received = Native.Recv(_fd, bytes, (nuint)buffer.Length, Native.MsgDontWait);
                if (received < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                }
                return (int)received;
            }
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private void DisposeSocket()
    {
        if (Interlocked.Exchange(ref _disposedSocket, 1) == 0)
        {
            _socket.Dispose();
        }
    }

    private static SocketError ErrnoToSocketError(int errno) => errno switch
    {
        32 => SocketError.Shutdown,
        101 => SocketError.NetworkUnreachable,
        103 => SocketError.ConnectionAborted,
        104 => SocketError.ConnectionReset,
        110 => SocketError.TimedOut,
        111 => SocketError.ConnectionRefused,
        113 => SocketError.HostUnreachable,
        _ => SocketError.SocketError,
    };
}
