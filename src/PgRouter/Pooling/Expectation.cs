namespace PgRouter.Pooling;

/// <summary>What PgRouter expects the server to answer, in the order it sent the requests.</summary>
internal enum Expected : byte
{
    /// <summary>The client's Parse: its ParseComplete goes to the client.</summary>
    Parse,

    /// <summary>The client's Parse of a name it already has: the server's 42P05 is reworded with the client's name.</summary>
    DuplicateParse,

    /// <summary>A Parse PgRouter added (the statement was missing on this server): its ParseComplete is dropped.</summary>
    InjectedParse,

    /// <summary>A Close PgRouter added (a copy to be replaced or known stale): its CloseComplete is dropped.</summary>
    InjectedClose,

    /// <summary>A Describe PgRouter added to learn a statement's result shape: its answers are dropped.</summary>
    ShapeOf,

    /// <summary>A simple-query statement PgRouter added before the client's own: its CommandComplete is dropped.</summary>
    InjectedCommand,

    Bind,

    /// <summary>A Bind of a statement whose result changed shape: sent to a statement that does not exist, the server's error reworded to 0A000.</summary>
    StaleBind,

    Close,
    DescribeStatement,
    DescribePortal,
    Execute,

    /// <summary>Sync, Query and FunctionCall: answered last by ReadyForQuery.</summary>
    Sync,

    /// <summary>PgRouter's own query (settings, DISCARD ALL): answers dropped but ParameterStatus, ReadyForQuery included.</summary>
    Setup,
}

/// <param name="Statement">The statement a Parse, Describe or Bind is about.</param>
/// <param name="Closed">For InjectedClose: the server-side name closed.</param>
internal readonly record struct Expectation(Expected Kind, PreparedStatement? Statement = null, string? Closed = null);

/// <summary>A ring buffer of expectations: filled by the client side, emptied by the server side, under the session's lock.</summary>
internal sealed class ExpectationQueue
{
    private Expectation[] _items = new Expectation[16];
    private int _head;
    private int _count;

    public bool IsEmpty => _count == 0;

    public int Count => _count;

    public void Add(Expectation expectation)
    {
        if (_count == _items.Length)
        {
            var larger = new Expectation[_items.Length * 2];
            for (int i = 0; i < _count; i++)
            {
                larger[i] = _items[(_head + i) % _items.Length];
            }
            (_items, _head) = (larger, 0);
        }
        _items[(_head + _count++) % _items.Length] = expectation;
    }

    /// <summary>The oldest expectation; an empty queue answers Sync (the server speaking unasked is forwarded).</summary>
    public Expectation Peek() => _count == 0 ? new Expectation(Expected.Sync) : _items[_head];

    public Expectation Pop()
    {
        if (_count == 0)
        {
            return new Expectation(Expected.Sync);
        }
        var item = _items[_head];
        _head = (_head + 1) % _items.Length;
        _count--;
        return item;
    }

    /// <summary>Whether a Sync (or PgRouter's own query) comes before the first expectation of this kind.</summary>
    public bool SyncBefore(Expected kind)
    {
        for (int i = 0; i < _count; i++)
        {
            var item = _items[(_head + i) % _items.Length];
            if (item.Kind is Expected.Sync or Expected.Setup)
            {
                return true;
            }
            if (item.Kind == kind)
            {
                return false;
            }
        }
        return false;
    }

    public void Clear() => (_head, _count) = (0, 0);
}
