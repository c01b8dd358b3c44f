package bench

// Measurements returns the table's measurements, in table order. A
// feature puts its rows in the table by adding its Measurement here, with
// the rows' names and aims, and README's table gains the rows (a test
// holds README to this list).
func Measurements() []Measurement {
	return []Measurement{
		cryptoMeasurement(),
		callbackMeasurement(),
		tokenMeasurement(),
		directoryWalkMeasurement(),
		directoryRSSMeasurement(),
		notifyMeasurement(),
		functionsMeasurement(),
	}
}
