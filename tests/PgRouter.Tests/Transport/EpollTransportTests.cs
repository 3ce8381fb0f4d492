using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.IO.Pipelines;
using PgRouter.Transport.Epoll;
using Xunit;

namespace PgRouter.Tests.Transport;

/// <summary>The epoll transport's edges, over real loopback sockets: full buffers, backpressure, aborts, hand-back.</summary>
public sealed class EpollTransportTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Socket _peer = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private Socket _accepted = null!;
    private EpollTransport _transport = null!;

    public async Task InitializeAsync()
    {
        if (!Native.Supported)
        {
            return;
        }
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen();
        var accepting = _listener.AcceptAsync();
        await _peer.ConnectAsync(_listener.LocalEndPoint!);
        _accepted = await accepting;
        _transport = EpollTransport.Adopt(_accepted);
    }

    public async Task DisposeAsync()
    {
        if (_transport is not null)
        {
            await _transport.DisposeAsync();
        }
        _peer.Dispose();
        _listener.Dispose();
    }

    [EpollFact]
    public async Task Send_LargerThanTheSocketBuffers_WaitsForRoom_AndEveryByteArrives()
    {
        var data = Pattern(16 * 1024 * 1024);
        _transport.Start();
        var sending = _transport.SendAsync(data).AsTask();
        var received = await ReadExactlyAsync(_peer, data.Length);

        Assert.True(await sending.WaitAsync(Deadline));
        Assert.Equal(data, received);
    }

    [EpollFact]
    public async Task Receive_HeldBackByASlowReader_ResumesWithoutLosingBytes()
    {
        var data = Pattern(8 * 1024 * 1024);
        _transport.Start();
        var sending = _peer.SendAsync(data);

        // Bytes looked at but not examined count against the pipe's pause threshold (1 MB): once it is
        // reached the loop stops receiving, so the pipe holds at most one more receive.
        var input = _transport.Input;
        var result = await HoldUnexaminedAsync(input, 1024 * 1024);
        Assert.InRange(result.Buffer.Length, 1024 * 1024, 1024 * 1024 + 64 * 1024);
        var received = new ArrayBufferWriter<byte>();
        while (true)
        {
            foreach (var segment in result.Buffer)
            {
                received.Write(segment.Span);
            }
            input.AdvanceTo(result.Buffer.End);
            if (received.WrittenCount == data.Length)
            {
                break;
            }
            result = await input.ReadAsync().AsTask().WaitAsync(Deadline);
        }

        Assert.Equal(data.Length, await sending.WaitAsync(Deadline));
        Assert.Equal(data, received.WrittenSpan.ToArray());
    }

    [EpollFact]
    public async Task PeerCloses_InputEnds_WithoutAnError()
    {
        _transport.Start();
        await _peer.SendAsync("bye"u8.ToArray());
        _peer.Shutdown(SocketShutdown.Send);

        var text = await ReadToEndAsync();

        Assert.Equal("bye", System.Text.Encoding.ASCII.GetString(text));
        Assert.Null(_transport.Error);
    }

    [EpollFact]
    public async Task PeerResets_InputEnds_WithConnectionReset()
    {
        _transport.Start();
        _peer.LingerState = new LingerOption(true, 0);
        _peer.Close();

        await ReadToEndAsync();

        Assert.Equal(SocketError.ConnectionReset, _transport.Error);
        Assert.False(await _transport.SendAsync("late"u8.ToArray()));
    }

    [EpollFact]
    public async Task Abort_WhileTheReaderHoldsBack_EndsTheInput_AndClosesTheSocket()
    {
        _transport.Start();
        // More than the pipe and both socket buffers hold: the send cannot finish before the abort.
        var sending = _peer.SendAsync(Pattern(32 * 1024 * 1024));
        var input = _transport.Input;
        var held = await HoldUnexaminedAsync(input, 1024 * 1024);
        input.AdvanceTo(held.Buffer.Start, held.Buffer.End);

        _transport.Abort();
        _transport.Input.CancelPendingRead();
        await _transport.Input.CompleteAsync();

        // The peer sees the connection go: its send fails or its read ends.
        var buffer = new byte[16];
        await Poll(async () =>
        {
            try
            {
                return await _peer.ReceiveAsync(buffer).WaitAsync(Deadline) == 0;
            }
            catch (SocketException)
            {
                return true;
            }
        });
        await Assert.ThrowsAnyAsync<Exception>(async () => await sending.WaitAsync(Deadline));
    }

    [EpollFact]
    public async Task Detach_ReturnsTheUnreadBytes_AndLeavesTheSocketToItsNewOwner()
    {
        _transport.Start();
        await _peer.SendAsync("ab"u8.ToArray());
        var first = await _transport.Input.ReadAsync().AsTask().WaitAsync(Deadline);
        _transport.Input.AdvanceTo(first.Buffer.GetPosition(1), first.Buffer.End);

        byte[] unread = await _transport.DetachAsync().WaitAsync(Deadline);
        Assert.Equal("b"u8.ToArray(), unread);

        // What comes next is the socket's own, read by .NET.
        await _peer.SendAsync("cd"u8.ToArray());
        var socketStream = new NetworkStream(_accepted, ownsSocket: false);
        var next = new byte[2];
        await socketStream.ReadExactlyAsync(next).AsTask().WaitAsync(Deadline);
        Assert.Equal("cd"u8.ToArray(), next);
    }

    [EpollFact]
    public async Task Connect_ToAListener_Connects_AndCarriesBytes()
    {
        var accepting = _listener.AcceptAsync();
        await using var connected = await EpollTransport.ConnectAsync("localhost", ((IPEndPoint)_listener.LocalEndPoint!).Port, s => s.NoDelay = true, CancellationToken.None);
        using var server = await accepting;
        connected.Start();

        Assert.True(await connected.SendAsync("ping"u8.ToArray()));
        Assert.Equal("ping"u8.ToArray(), await ReadExactlyAsync(server, 4));
        await server.SendAsync("pong"u8.ToArray());
        var answer = await connected.Input.ReadAsync().AsTask().WaitAsync(Deadline);
        Assert.Equal("pong"u8.ToArray(), answer.Buffer.ToArray());
        connected.Input.AdvanceTo(answer.Buffer.End);
    }

    [EpollFact]
    public async Task Connect_ToAClosedPort_IsRefused()
    {
        using var unused = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        unused.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)unused.LocalEndPoint!).Port;

        var refused = await Assert.ThrowsAsync<SocketException>(() => EpollTransport.ConnectAsync("127.0.0.1", port, _ => { }, CancellationToken.None));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    /// <summary>Reads without examining (the reader gets everything again) until the input holds at least this much.</summary>
    private static async Task<ReadResult> HoldUnexaminedAsync(PipeReader input, long bytes)
    {
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(Deadline);
            if (result.Buffer.Length >= bytes || result.IsCompleted)
            {
                return result;
            }
            input.AdvanceTo(result.Buffer.Start);
            Assert.True(DateTime.UtcNow < until, $"the input did not reach {bytes} bytes");
        }
    }

    private async Task<byte[]> ReadToEndAsync()
    {
        var input = _transport.Input;
        var all = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(Deadline);
            foreach (var segment in result.Buffer)
            {
                all.Write(segment.Span);
            }
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return all.WrittenSpan.ToArray();
            }
        }
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int length)
    {
        var buffer = new byte[length];
        int read = 0;
        while (read < length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read)).AsTask().WaitAsync(Deadline);
            Assert.NotEqual(0, n);
            read += n;
        }
        return buffer;
    }

    private static async Task Poll(Func<Task<bool>> condition)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, "condition not met within the deadline");
        }
    }

    private static byte[] Pattern(int length)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(i * 31 + (i >> 8));
        }
        return data;
    }
}

/// <summary>A fact that runs where PgRouter runs its epoll transport (Linux x86-64).</summary>
public sealed class EpollFactAttribute : FactAttribute
{
    public EpollFactAttribute()
    {
        if (!Native.Supported)
        {
            Skip = "the epoll transport is for Linux x86-64 only";
        }
    }
}
