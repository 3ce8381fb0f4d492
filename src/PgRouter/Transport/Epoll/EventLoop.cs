using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;

namespace PgRouter.Transport.Epoll;

/// <summary>
/// A thread that waits on one epoll set and hands every ready socket to its transport, the way
/// PgBouncer's event loop does: one recv per readiness, all ready sockets per wakeup. .NET's own
/// socket engine tries every receive before waiting for it, which costs a failed recv per message.
/// Transports are found by an id that is never reused, so a late event for a closed socket is dropped.
/// </summary>
internal sealed unsafe class EventLoop
{
    private const int MaxEvents = 256;
    private const ulong WakeId = 0;

    private static readonly Lazy<EventLoop[]> Loops = new(() =>
        Enumerable.Range(0, _threads > 0 ? _threads : Math.Max(1, Environment.ProcessorCount / 4)).Select(i => new EventLoop(i)).ToArray());

    private static int _threads;
    private static ILogger _logger = NullLogger.Instance;
    private static int _next;

    private readonly int _epoll;
    private readonly int _wakeFd;
    private readonly ConcurrentDictionary<ulong, EpollTransport> _transports = new();
    private readonly ConcurrentQueue<EpollTransport> _posted = new();
    private long _nextId;
    private int _wakePending;

    private EventLoop(int index)
    {
        _epoll = Native.EpollCreate(Native.EpollCloexec);
        _wakeFd = Native.EventFd(0, Native.EfdNonBlock | Native.EfdCloexec);
        if (_epoll < 0 || _wakeFd < 0)
        {
            throw new InvalidOperationException($"epoll_create1 or eventfd failed: errno {Marshal.GetLastPInvokeError()}");
        }
        var wake = new Native.EpollEvent { Events = Native.EpollIn, Data = WakeId };
        Native.EpollCtl(_epoll, Native.EpollCtlAdd, _wakeFd, &wake);
        new Thread(Run) { IsBackground = true, Name = $"pgrouter io {index}" }.Start();
    }

    /// <summary>
    /// How many loops to run, before the first socket. Few: every loop that sleeps costs a wakeup
    /// per batch, and on a small machine one loop next to PostgreSQL does best, as PgBouncer does.
    /// </summary>
    public static void Configure(int threads, ILogger logger)
    {
        _threads = threads;
        _logger = logger;
    }

    /// <summary>The loops take sockets in turn.</summary>
    public static EventLoop Next()
    {
        var loops = Loops.Value;
        return loops[(uint)Interlocked.Increment(ref _next) % (uint)loops.Length];
    }

    /// <summary>Watches the socket, edge-triggered: the transport reads until a short read.</summary>
    public ulong Add(int fd, EpollTransport transport)
    {
        ulong id = (ulong)Interlocked.Increment(ref _nextId);
        _transports[id] = transport;
        var ev = new Native.EpollEvent { Events = Native.EpollIn | Native.EpollOut | Native.EpollRdHup | Native.EpollEt, Data = id };
        if (Native.EpollCtl(_epoll, Native.EpollCtlAdd, fd, &ev) != 0)
        {
            _transports.TryRemove(id, out _);
            throw new InvalidOperationException($"epoll_ctl ADD failed: errno {Marshal.GetLastPInvokeError()}");
        }
        return id;
    }

    public void Remove(int fd, ulong id)
    {
        _transports.TryRemove(id, out _);
        Native.EpollCtl(_epoll, Native.EpollCtlDel, fd, null);
    }

    /// <summary>Runs the transport's <see cref="EpollTransport.OnPosted"/> on this loop's thread.</summary>
    public void Post(EpollTransport transport)
    {
        _posted.Enqueue(transport);
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            Native.Write(_wakeFd, (byte*)&one, sizeof(ulong));
        }
    }

    private void Run()
    {
        var events = stackalloc Native.EpollEvent[MaxEvents];
        while (true)
        {
            int count = Native.EpollWait(_epoll, events, MaxEvents, -1);
            if (count < 0)
            {
                if (Marshal.GetLastPInvokeError() == Native.EIntr)
                {
                    continue;
                }
                Environment.FailFast($"epoll_wait failed: errno {Marshal.GetLastPInvokeError()}");
            }
            for (int i = 0; i < count; i++)
            {
                if (events[i].Data == WakeId)
                {
                    RunPosted();
                }
                else if (_transports.TryGetValue(events[i].Data, out var transport))
                {
                    try
                    {
                        transport.OnEvents(events[i].Events);
                    }
                    catch (Exception e)
                    {
                        // A fault of one connection must not stop the loop that carries all the others.
                        LoopFault(transport, e);
                    }
                }
            }
        }
    }

    private void RunPosted()
    {
        ulong value;
        Native.Read(_wakeFd, (byte*)&value, sizeof(ulong));
        Volatile.Write(ref _wakePending, 0);
        while (_posted.TryDequeue(out var transport))
        {
            try
            {
                transport.OnPosted();
            }
            catch (Exception e)
            {
                LoopFault(transport, e);
            }
        }
    }

    private static void LoopFault(EpollTransport transport, Exception e)
    {
        _logger.LogError(e, "connection {Peer}: closed after a fault on its I/O loop", transport.RemoteAddress);
        transport.Abort();
    }
}
