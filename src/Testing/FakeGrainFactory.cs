namespace OrleansWs.Testing;

// The overloads with optional parameters are IGrainFactory's own.
#pragma warning disable RS0026

/// <summary>
/// An <see cref="IGrainFactory"/> over fakes, for a handler unit-tested in a <see cref="HandlerHarness{THandler,TState}"/>
/// that reaches other grains (a room, a counter) through the factory its constructor takes. Register a fake per
/// grain interface and key; asking for one that was not registered fails with what to add.
/// </summary>
/// <example>
/// <code>
/// var grains = new FakeGrainFactory().Add&lt;ICounterGrain&gt;("lobby", new FakeCounter());
/// var room = new HandlerHarness&lt;CounterRoomHandler, CounterRoomState&gt;(create: () =&gt; new CounterRoomHandler(grains));
/// </code>
/// </example>
public sealed class FakeGrainFactory : IGrainFactory
{
    private readonly Dictionary<(Type Interface, string Key), object> _fakes = [];

    /// <summary>Answers <c>GetGrain&lt;TGrainInterface&gt;(key)</c> with <paramref name="fake"/>.</summary>
    public FakeGrainFactory Add<TGrainInterface>(string key, TGrainInterface fake) where TGrainInterface : IGrainWithStringKey =>
        Put(typeof(TGrainInterface), key, fake);

    /// <summary>Answers <c>GetGrain&lt;TGrainInterface&gt;(key)</c> with <paramref name="fake"/>.</summary>
    public FakeGrainFactory Add<TGrainInterface>(Guid key, TGrainInterface fake) where TGrainInterface : IGrainWithGuidKey =>
        Put(typeof(TGrainInterface), key.ToString("N"), fake);

    /// <summary>Answers <c>GetGrain&lt;TGrainInterface&gt;(key)</c> with <paramref name="fake"/>.</summary>
    public FakeGrainFactory Add<TGrainInterface>(long key, TGrainInterface fake) where TGrainInterface : IGrainWithIntegerKey =>
        Put(typeof(TGrainInterface), key.ToString(System.Globalization.CultureInfo.InvariantCulture), fake);

    /// <inheritdoc />
    public TGrainInterface GetGrain<TGrainInterface>(string primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithStringKey =>
        Find<TGrainInterface>(primaryKey);

    /// <inheritdoc />
    public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithGuidKey =>
        Find<TGrainInterface>(primaryKey.ToString("N"));

    /// <inheritdoc />
    public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithIntegerKey =>
        Find<TGrainInterface>(primaryKey.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <inheritdoc />
    public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string keyExtension, string? grainClassNamePrefix = null)
        where TGrainInterface : IGrainWithGuidCompoundKey => Find<TGrainInterface>($"{primaryKey:N}+{keyExtension}");

    /// <inheritdoc />
    public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string keyExtension, string? grainClassNamePrefix = null)
        where TGrainInterface : IGrainWithIntegerCompoundKey => Find<TGrainInterface>($"{primaryKey}+{keyExtension}");

    /// <inheritdoc />
    public TGrainObserverInterface CreateObjectReference<TGrainObserverInterface>(IGrainObserver obj) where TGrainObserverInterface : IGrainObserver =>
        (TGrainObserverInterface)obj;

    /// <inheritdoc />
    public void DeleteObjectReference<TGrainObserverInterface>(IGrainObserver obj) where TGrainObserverInterface : IGrainObserver
    {
    }

    /// <inheritdoc />
    public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey) => (IGrain)Find(grainInterfaceType, grainPrimaryKey.ToString("N"));

    /// <inheritdoc />
    public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey) =>
        (IGrain)Find(grainInterfaceType, grainPrimaryKey.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <inheritdoc />
    public IGrain GetGrain(Type grainInterfaceType, string grainPrimaryKey) => (IGrain)Find(grainInterfaceType, grainPrimaryKey);

    /// <inheritdoc />
    public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey, string keyExtension) =>
        (IGrain)Find(grainInterfaceType, $"{grainPrimaryKey:N}+{keyExtension}");

    /// <inheritdoc />
    public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey, string keyExtension) =>
        (IGrain)Find(grainInterfaceType, $"{grainPrimaryKey}+{keyExtension}");

    /// <inheritdoc />
    public TGrainInterface GetGrain<TGrainInterface>(GrainId grainId) where TGrainInterface : IAddressable => throw ById();

    /// <inheritdoc />
    public IAddressable GetGrain(GrainId grainId) => throw ById();

    /// <inheritdoc />
    public IAddressable GetGrain(GrainId grainId, GrainInterfaceType interfaceType) => throw ById();

    /// <inheritdoc />
    public IAddressable GetGrain(Type interfaceType, IdSpan grainKey, string grainClassNamePrefix) => throw ById();

    /// <inheritdoc />
    public IAddressable GetGrain(Type interfaceType, IdSpan grainKey) => throw ById();

    private FakeGrainFactory Put(Type grainInterface, string key, object? fake)
    {
        _fakes[(grainInterface, key)] = fake ?? throw new ArgumentNullException(nameof(fake));
        return this;
    }

    private TGrainInterface Find<TGrainInterface>(string key) => (TGrainInterface)Find(typeof(TGrainInterface), key);

    private object Find(Type grainInterface, string key) => _fakes.TryGetValue((grainInterface, key), out var fake)
        ? fake
        : throw new InvalidOperationException($"No fake {grainInterface.Name} '{key}' in this FakeGrainFactory: Add<{grainInterface.Name}>(\"{key}\", fake) first.");

    private static NotSupportedException ById() =>
        new("FakeGrainFactory answers GetGrain by interface and key; a grain asked for by GrainId needs a cluster (WebSocketTestApp).");
}
