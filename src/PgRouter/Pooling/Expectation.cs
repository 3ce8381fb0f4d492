namespace PgRouter.Pooling;

/// <summary>What PgRouter expects the server to answer, in the order it sent the requests.</summary>
internal enum Expected : byte
{
    /// <summary>The client's Parse: its ParseComplete goes to the client.</summary>
    Parse,

    /// <summary>A Parse PgRouter added (the statement was missing on this server): its ParseComplete is dropped.</summary>
    InjectedParse,

    /// <summary>The client's Parse of a statement the server already has: a harmless Close was sent instead, whose CloseComplete becomes ParseComplete.</summary>
    FakeParse,

    Bind,
    Close,
    DescribeStatement,
    DescribePortal,
    Execute,

    /// <summary>Sync, Query and FunctionCall: answered last by ReadyForQuery.</summary>
    Sync,

    /// <summary>PgRouter's own query (settings, DISCARD ALL): answers dropped but ParameterStatus, ReadyForQuery included.</summary>
    Setup,
}

/// <param name="Statement">For Parse and InjectedParse: the server-side name, forgotten if the server refuses it.</param>
internal readonly record struct Expectation(Expected Kind, string? Statement = null);

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

    public void Clear() => (_head, _count) = (0, 0);
}
