using System.Text;

namespace PgRouter.Protocol;

/// <summary>
/// The name/value pairs of a StartupMessage, in the client's order. Values stay raw bytes so
/// that whatever encoding the client used reaches the server unchanged.
/// </summary>
internal sealed class StartupParameters
{
    private readonly List<KeyValuePair<string, byte[]>> _items = [];

    public IReadOnlyList<KeyValuePair<string, byte[]>> Items => _items;

    public string? this[string name]
    {
        get
        {
            foreach (var (key, value) in _items)
            {
                if (key == name)
                {
                    return Encoding.UTF8.GetString(value);
                }
            }
            return null;
        }
    }

    /// <summary>Sets or, with null, removes a parameter, keeping the position of an existing one.</summary>
    public void Set(string name, string? value)
    {
        int index = _items.FindIndex(p => p.Key == name);
        if (value is null)
        {
            if (index >= 0)
            {
                _items.RemoveAt(index);
            }
            return;
        }

        var item = KeyValuePair.Create(name, Encoding.UTF8.GetBytes(value));
        if (index >= 0)
        {
            _items[index] = item;
        }
        else
        {
            _items.Add(item);
        }
    }

    public void Add(string name, byte[] value) => _items.Add(KeyValuePair.Create(name, value));

    public StartupParameters Clone()
    {
        var copy = new StartupParameters();
        copy._items.AddRange(_items);
        return copy;
    }
}
