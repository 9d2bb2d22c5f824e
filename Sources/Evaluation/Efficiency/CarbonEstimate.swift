/// Grams of CO₂-equivalent for an amount of electrical energy at a grid's carbon intensity.
/// Default 475 g/kWh: the world-average intensity of electricity generation (IEA, Global
/// Energy & CO2 Status Report 2019); pass the local grid's figure with --grid-intensity.
public enum CarbonEstimate {
    public static let defaultGramsPerKWh = 475.0

    public static func grams(joules: Double, gramsPerKWh: Double) -> Double {
        joules / 3.6e6 * gramsPerKWh
    }
}
